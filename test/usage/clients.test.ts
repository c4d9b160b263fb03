// The usage layer and ledger on their own: per-client totals, the billing CSV, batch flushing and the `flowrouter usage` table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appendFileSync, readFileSync } from 'node:fs';
import { openDatabase } from '../../src/core/database.ts';
import { parseConfig } from '../../src/config/index.ts';
import { PriceTable, UsageLedger, usageCsv, usageLayer, usageSummary } from '../../src/usage/index.ts';
import { usageCommand } from '../../src/cli/usage.ts';
import { createContext, pipeline, type Handler } from '../../src/pipeline/index.ts';
import type { ChatRequest } from '../../src/core/openai.ts';
import { tempDir } from '../helpers.ts';
import { jsonOutcome } from '../chat-outcome.ts';

const config = parseConfig(
  'chains:\n  default:\n    - model: gpt-4o\n      provider: openai\n      url: http://127.0.0.1:9/v1\n',
  't.yaml',
  {},
  { dataDir: '/tmp/unused' },
);

/** What the router would have done: answered from the default chain's one target. */
const answer: Handler<'chat'> = async (req, ctx) => {
  ctx.trace.route = { chain: config.chains.get('default')!, byModel: false };
  ctx.trace.target = 'default/openai/gpt-4o';
  ctx.trace.cache = 'miss';
  return jsonOutcome('gpt-4o', { prompt: 1000, completion: 100 }, `re ${req.messages.length}`);
};

async function call(service: Handler<'chat'>, client: string | undefined) {
  const req: ChatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
  await service(
    req,
    createContext({
      requestId: `r-${Math.random()}`,
      operation: 'chat',
      signal: new AbortController().signal,
      client: client ? { id: client } : undefined,
      countPrompt: () => 1,
    }),
  );
}

test('usage groups by client key id, and the CSV has a line per client, day and model', async () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'flowrouter.db'));
  try {
    const ledger = new UsageLedger(db, { flushMs: 50 });
    const service = pipeline([usageLayer({ ledger, prices: new PriceTable(), config: () => config })], answer);
    await call(service, 'alice');
    await call(service, 'alice');
    await call(service, 'bob');
    await call(service, undefined);
    ledger.flush();
    const byClient = usageSummary(db, 'client');
    const alice = byClient.find((r) => r.key === 'alice')!;
    assert.equal(alice.requests, 2);
    assert.equal(alice.prompt_tokens, 2000);
    assert.equal(alice.cost, (2 * (1000 * 2.5 + 100 * 10)) / 1e6);
    assert.equal(byClient.find((r) => r.key === 'bob')!.requests, 1);
    assert.equal(byClient.find((r) => r.key === '')!.requests, 1);
    const lines = usageCsv(db)
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    assert.deepEqual(
      lines.map((l) => [l[1], l[2], l[3]]),
      [
        ['', 'gpt-4o', '1'],
        ['alice', 'gpt-4o', '2'],
        ['bob', 'gpt-4o', '1'],
      ],
    );
    ledger.stop();
  } finally {
    db.close();
    dir.remove();
  }
});

test('rows reach the database within the flush window, and stop() writes the rest', async () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'flowrouter.db'));
  try {
    const ledger = new UsageLedger(db, { flushMs: 20 });
    const service = pipeline([usageLayer({ ledger, prices: new PriceTable(), config: () => config })], answer);
    const count = () => (db.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n;
    await call(service, 'a');
    assert.equal(count(), 0);
    const deadline = Date.now() + 2000;
    while (count() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(count(), 1);
    await call(service, 'b');
    ledger.stop();
    assert.equal(count(), 2);
  } finally {
    db.close();
    dir.remove();
  }
});

test('`flowrouter usage` prints a readable table and the CSV from the node database', async () => {
  const dir = tempDir();
  const file = join(dir.path, 'flowrouter.db');
  const db = openDatabase(file);
  try {
    const ledger = new UsageLedger(db, { flushMs: 50 });
    const service = pipeline([usageLayer({ ledger, prices: new PriceTable(), config: () => config })], answer);
    await call(service, 'alice');
    await call(service, 'bob');
    ledger.stop();
    let printed = '';
    const open = () => openDatabase(file);
    await usageCommand(open, (t) => {
      printed += t;
    }).parseAsync(['--by', 'client'], { from: 'user' });
    const lines = printed.trimEnd().split('\n');
    assert.match(lines[0], /^client\s+requests\s+errors\s+prompt tok/);
    assert.match(lines[1], /^-+\s+-+/);
    assert.ok(
      lines.some((l) => /^alice\s+1\s+0\s+1,000\s+100\s+\$0\.0035/.test(l)),
      printed,
    );
    printed = '';
    await usageCommand(open, (t) => {
      printed += t;
    }).parseAsync(['--csv'], { from: 'user' });
    assert.match(printed, /^day,client,model,/);
    assert.equal(printed.trim().split('\n').length, 3);
  } finally {
    db.close();
    dir.remove();
  }
});

test('rows journaled but not yet committed when the process died are committed by the next ledger on that journal', async () => {
  const dir = tempDir();
  const file = join(dir.path, 'flowrouter.db');
  const journal = join(dir.path, 'usage.journal');
  const db = openDatabase(file);
  try {
    const dead = new UsageLedger(db, { flushMs: 60_000, journal });
    const service = pipeline([usageLayer({ ledger: dead, prices: new PriceTable(), config: () => config })], answer);
    await call(service, 'a');
    await call(service, 'b');
    appendFileSync(journal, '{"ts": 1, "requestId": "torn');
    // No flush, no stop: as after a SIGKILL, the rows exist only in the journal.
    const count = () => (db.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n;
    assert.equal(count(), 0);
    const next = new UsageLedger(db, { flushMs: 50, journal });
    assert.equal(count(), 2);
    assert.equal(readFileSync(journal, 'utf8'), '');
    next.stop();
    dead.stop();
    assert.equal(count(), 2);
  } finally {
    db.close();
    dir.remove();
  }
});

test('committed rows may stay in the journal until it is big or the ledger stops; a replay never counts them twice', async () => {
  const dir = tempDir();
  const journal = join(dir.path, 'usage.journal');
  const db = openDatabase(join(dir.path, 'flowrouter.db'));
  try {
    const ledger = new UsageLedger(db, { flushMs: 60_000, journal });
    const service = pipeline([usageLayer({ ledger, prices: new PriceTable(), config: () => config })], answer);
    await call(service, 'a');
    await call(service, 'b');
    ledger.flush();
    const count = () => (db.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n;
    assert.equal(count(), 2);
    assert.equal(readFileSync(journal, 'utf8').trim().split('\n').length, 2, 'a small journal is not emptied at each commit');
    await call(service, 'c');
    // A kill now: the next start replays all three journaled rows, two of them already committed.
    const next = new UsageLedger(db, { flushMs: 60_000, journal });
    assert.equal(count(), 3);
    next.stop();
    ledger.stop();
    assert.equal(readFileSync(journal, 'utf8'), '', 'a clean stop leaves it empty');
    assert.equal(count(), 3);
  } finally {
    db.close();
    dir.remove();
  }
});
