// Usage retention: old raw rows become daily totals in batches without losing a day's totals, and every report still answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/core/database.ts';
import { UsageLedger, usageCsv, usageSummary, USAGE_GROUPS, type UsageRow } from '../../src/usage/index.ts';
import { DAY_MS, UsageRetention } from '../../src/usage/retention.ts';
import { usageCommand } from '../../src/cli/usage.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir } from '../helpers.ts';

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

/** 20 rows a day for 120 days: several models, clients, targets, errors, cache hits, fractional costs and latencies. */
function history(): UsageRow[] {
  const rows: UsageRow[] = [];
  for (let d = 0; d < 120; d++) {
    for (let i = 0; i < 20; i++) {
      const n = d * 20 + i;
      const hit = n % 7 === 0;
      rows.push({
        ts: NOW - d * DAY_MS - i * 3_600_000,
        requestId: `r-${n}`,
        chain: 'default',
        target: i % 3 === 0 ? null : `t${i % 3}`,
        provider: 'openai',
        model: i % 4 === 0 ? null : `m${i % 4}`,
        clientId: i % 5 === 0 ? null : `c${i % 5}`,
        fingerprint: `fp${i % 6}`,
        stream: i % 2 === 0,
        promptTokens: 100 + n,
        completionTokens: 10 + (n % 13),
        cachedTokens: n % 3,
        usageSource: 'provider',
        cost: hit ? 0 : 0.000123 * (1 + (n % 11)),
        costSaved: hit ? 0.0005 : 0,
        latencyMs: 12.345 + (n % 17),
        firstByteMs: 3.5,
        status: n % 9 === 0 ? 502 : 200,
        errorCode: null,
        cache: hit ? 'hit' : 'miss',
        tokensSaved: hit ? 120 : n % 4,
      });
    }
  }
  return rows;
}

function withDb(run: (db: Db, dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempDir();
    const db = openDatabase(join(dir.path, 'flowrouter.db'));
    try {
      await run(db, dir.path);
    } finally {
      db.close();
      dir.remove();
    }
  };
}

function load(db: Db): void {
  const ledger = new UsageLedger(db, { flushMs: 60_000 });
  for (const r of history()) ledger.record(r);
  ledger.stop();
}

const rawCount = (db: Db, before?: number) =>
  (
    db.prepare(`SELECT count(*) AS n FROM usage_ledger${before === undefined ? '' : ' WHERE ts < ?'}`).get(...(before === undefined ? [] : [before])) as {
      n: number;
    }
  ).n;

/** Every report over a few ranges of whole days (what old ranges answer by), prompt grouping aside (no fingerprint). */
function reports(db: Db) {
  const ranges = [{}, { from: Date.UTC(2026, 2, 7) }, { from: Date.UTC(2026, 1, 16), to: Date.UTC(2026, 2, 12) }, { to: Date.UTC(2026, 3, 1) }];
  return ranges.map((range) => ({
    groups: USAGE_GROUPS.filter((g) => g !== 'prompt').map((by) => usageSummary(db, by, range)),
    csv: usageCsv(db, range),
  }));
}

test(
  "retention rolls up and prunes old rows in small batches without losing a day's totals",
  withDb((db) => {
    load(db);
    const before = reports(db);
    const retention = new UsageRetention(db, { days: 90, batchRows: 37, now: () => NOW });
    const cutoff = retention.cutoff();
    assert.equal(cutoff, Date.UTC(2026, 2, 17));
    const old = rawCount(db, cutoff);
    assert.ok(old > 500);
    let batches = 0;
    while (retention.rollUpBatch() > 0) batches++;
    assert.equal(batches, Math.ceil(old / 37));
    assert.equal(rawCount(db, cutoff), 0, 'no raw row older than the retention is left');
    assert.equal(rawCount(db), 2400 - old, 'newer rows stay raw');
    assert.deepEqual(reports(db), before);
    // By prompt, rolled-up days add up under an empty fingerprint: the totals are the same.
    const byPrompt = usageSummary(db, 'prompt');
    assert.equal(byPrompt.find((r) => r.key === '')!.requests, old);
    assert.equal(
      byPrompt.reduce((n, r) => n + r.requests, 0),
      2400,
    );
    // A second pass finds nothing; a later day moves only that day.
    assert.equal(retention.rollUpBatch(), 0);
    assert.equal(retention.rollUpBatch(NOW + DAY_MS), 20);
    assert.deepEqual(reports(db), before);
  }),
);

test(
  "the ledger's retention timer moves old rows off the request path and stop() leaves no timer behind",
  withDb(async (db) => {
    load(db);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const idle = timers();
    const before = reports(db);
    // Raw rows of the last 30 days are kept; "now" is the real clock here, far after the history.
    const ledger = new UsageLedger(db, { flushMs: 50, retentionDays: 30 });
    const until = Date.now() + 20_000;
    while (rawCount(db) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rawCount(db), 0);
    assert.deepEqual(reports(db), before);
    ledger.stop();
    assert.equal(timers(), idle);
  }),
);

test('flowrouter usage and GET /v1/usage answer over ranges that were rolled up, by day', async () => {
  const fake = await startFakeOpenAI();
  const gw = await startTestNode(
    `usage:\n  retention_days: 90\nchains:\n  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-test\n      url: ${fake.url}\n`,
  );
  try {
    const ledger = new UsageLedger(gw.node.db, { flushMs: 60_000 });
    for (const r of history()) ledger.record(r);
    ledger.stop();
    const day = '2026-02-20';
    const from = Date.parse(day);
    const expected = usageSummary(gw.node.db, 'model', { from, to: from + DAY_MS });
    new UsageRetention(gw.node.db, { days: 90, now: () => NOW }).rollUpBatch();
    while (new UsageRetention(gw.node.db, { days: 90, now: () => NOW }).rollUpBatch() > 0);
    assert.equal(rawCount(gw.node.db, from + DAY_MS), 0);

    const res = await fetch(`${gw.baseURL}/usage?by=model&from=${day}&to=${day}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: unknown[] };
    assert.deepEqual(body.data, expected);
    const byDay = (await (await fetch(`${gw.baseURL}/usage?by=day&from=2026-02-20&to=2026-03-10`)).json()) as { data: { key: string; requests: number }[] };
    assert.equal(byDay.data.length, 19);
    assert.ok(byDay.data.every((r) => r.requests === 20));
    const csv = await (await fetch(`${gw.baseURL}/usage/export.csv?from=${day}&to=${day}`)).text();
    assert.equal(csv, usageCsv(gw.node.db, { from, to: from + DAY_MS }));
    assert.equal(
      csv.trim().split('\n').length,
      1
        + new Set(
          history()
            .filter((r) => r.ts >= from && r.ts < from + DAY_MS)
            .map((r) => `${r.clientId}/${r.model}`),
        ).size,
    );

    let out = '';
    const cmd = usageCommand(
      () => openDatabase(join(gw.dataDir, 'flowrouter.db')),
      (t) => {
        out += t;
      },
    );
    await cmd.parseAsync(['node', 'usage', '--by', 'day', '--from', day, '--to', day], { from: 'node' });
    assert.match(out, new RegExp(`${day}\\s+20\\s`));
  } finally {
    await gw.stop();
    await fake.close();
  }
});
