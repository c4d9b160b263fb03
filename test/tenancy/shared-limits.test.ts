// The shared limits' bound, member to member over a stand-in for gossipsub with random delays, losses and partitions:
// while members are in contact a key's rpm and budget are passed by at most max(overshoot × limit, one request per other
// member), and a member cut off admits only what leaves the others their shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitError } from '../../src/core/errors.ts';
import type { TargetConfig } from '../../src/config/index.ts';
import { periodOf } from '../../src/tenancy/index.ts';
import { parseLimitsMessage } from '../../src/tenancy/shared/wire.ts';
import { allInContact, Bus, member, type Member } from './shared-bus.ts';
import { jsonOutcome } from '../chat-outcome.ts';

const KEY = '00112233aabbccdd';
const rpm = (n: number) => ({ id: KEY, name: 'key "shared"', limits: { rpm: n }, scope: 'mesh' as const });
const target: TargetConfig = { id: 'gpt-4o-mini', kind: 'provider', model: 'gpt-4o-mini', weight: 1 };

async function admitted(attempts: Promise<unknown>[]): Promise<number> {
  const results = await Promise.allSettled(attempts);
  for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof RateLimitError)) throw r.reason;
  return results.filter((r) => r.status === 'fulfilled').length;
}

async function cluster(n: number, bus: Bus, opts: Parameters<typeof member>[2] = {}): Promise<Member[]> {
  const members = Array.from({ length: n }, (_, i) => member(bus, `member-${i}`, opts));
  await allInContact(members);
  return members;
}

function stopAll(members: Member[], bus: Bus): void {
  for (const m of members) m.stop();
  bus.close();
  for (const m of members) m.db.close();
}

for (const { overshoot, loss, bound } of [
  { overshoot: 0, loss: 0, bound: 2 },
  { overshoot: 0.2, loss: 0, bound: 6 },
  { overshoot: 0, loss: 0.3, bound: 2 },
]) {
  test(`rpm 30 hammered on three members at once (overshoot ${overshoot * 100} %, ${loss * 100} % of messages lost, delays 0-30 ms) admits between 30 and 30 + ${bound}`, {
    timeout: 30_000,
  }, async () => {
    const bus = new Bus({ delay: () => Math.random() * 30 });
    const members = await cluster(3, bus, { overshoot });
    bus.opts.loss = loss;
    try {
      const attempts = members.flatMap((m) => Array.from({ length: 40 }, () => m.admit(rpm(30))));
      const n = await admitted(attempts);
      assert.ok(n >= 30 && n <= 30 + bound, `admitted ${n}`);
    } finally {
      stopAll(members, bus);
    }
  });
}

test('with the whole limit as overshoot the same load passes it further: waiting for acknowledgements is what holds the bound', {
  timeout: 30_000,
}, async () => {
  const bus = new Bus({ delay: () => 20 + Math.random() * 10 });
  const members = await cluster(3, bus, { overshoot: 1 });
  try {
    const n = await admitted(members.flatMap((m) => Array.from({ length: 40 }, () => m.admit(rpm(30)))));
    assert.ok(n > 32, `admitted ${n}`);
  } finally {
    stopAll(members, bus);
  }
});

test("a budget spent on two members at once stays within one request's estimate of the limit", { timeout: 30_000 }, async () => {
  const bus = new Bus({ delay: () => Math.random() * 20 });
  const members = await cluster(2, bus);
  // gpt-4o-mini: 10 prompt + 1000 completion tokens = $0.0006015, held as such (max_tokens 1000) and spent as such.
  const cost = (10 * 0.15 + 1000 * 0.6) / 1e6;
  const holder = { id: KEY, name: 'key "budget"', limits: { budgetUsd: 0.01, budgetPeriod: 'day' as const }, scope: 'mesh' as const };
  try {
    const run = async (m: Member) => {
      const ctx = await m.admit(holder, { max_tokens: 1000 });
      const hold = await ctx.gate!(target, 'gpt-4o-mini');
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      hold.keep();
      ctx.tap.watch(jsonOutcome('gpt-4o-mini', { prompt: 10, completion: 1000 }), AbortSignal.timeout(1000));
    };
    const n = await admitted(members.flatMap((m) => Array.from({ length: 30 }, () => run(m))));
    const spent = members.reduce((sum, m) => sum + m.budgets.spent(KEY, 'day'), 0);
    assert.ok(spent <= 0.01 + cost + 1e-12, `spent ${spent} over ${n} requests`);
    assert.ok(spent >= 0.01 - cost, `spent only ${spent}: the budget was not used`);
  } finally {
    stopAll(members, bus);
  }
});

test('a member cut off admits only its share, the others keep it reserved, and after healing all count the same totals', { timeout: 30_000 }, async () => {
  const bus = new Bus({ delay: () => Math.random() * 10 });
  const members = await cluster(3, bus);
  const [alone, ...rest] = members;
  try {
    bus.partition(
      [alone.id],
      rest.map((m) => m.id),
    );
    const cut = Date.now();
    const noticed = () =>
      alone.counters.status().members.every((s) => !s.inContact)
      && rest.every((m) => m.counters.status().members.some((s) => s.peer === alone.id && !s.inContact));
    while (!noticed()) {
      if (Date.now() - cut > 3_000) throw new Error('the partition was not noticed');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(
      alone.counters.status().members.map((s) => s.state),
      ['silent', 'silent'],
    );
    const isolated = await admitted(Array.from({ length: 30 }, () => alone.admit(rpm(30))));
    const majority = await admitted(rest.flatMap((m) => Array.from({ length: 30 }, () => m.admit(rpm(30)))));
    // 30 / 3 members: 10 each; the two in contact share 20 between them (+1 for their acknowledgements).
    assert.equal(isolated, 10);
    assert.ok(majority >= 20 && majority <= 21, `majority admitted ${majority}`);

    bus.heal();
    await allInContact(members);
    const totals = members.map((m) => Math.round(m.counters.rate(KEY, { rpm: 30 }).requests));
    assert.deepEqual(totals, [isolated + majority, isolated + majority, isolated + majority]);
    // Healed and full: no member admits more this minute.
    assert.equal(await admitted(members.map((m) => m.admit(rpm(30)))), 0);
  } finally {
    stopAll(members, bus);
  }
});

test("a restarted member keeps the others' shares reserved until it hears them, then counts their spend from its database", { timeout: 30_000 }, async () => {
  const bus = new Bus({ delay: () => 1 });
  const [a, b] = await cluster(2, bus);
  const holder = { id: KEY, name: 'key "budget"', limits: { budgetUsd: 1, budgetPeriod: 'day' as const }, scope: 'mesh' as const };
  try {
    const ctx = await a.admit(holder, { max_tokens: 10 });
    (await ctx.gate!(target, 'gpt-4o-mini')).keep();
    ctx.tap.watch(jsonOutcome('gpt-4o-mini', { prompt: 1_000_000, completion: 0 }), AbortSignal.timeout(1000));
    // A spent $0.15; B hears it, then goes down and comes back with the same database.
    await new Promise((r) => setTimeout(r, 300));
    b.stop();
    const again = member(bus, b.id, {}, 100, b.db);
    try {
      const first = again.counters.othersSpend(KEY, 'day', 1);
      assert.equal(first.reserved, 1, 'A is out of contact at first: its share is reserved');
      assert.ok(Math.abs(first.committed - 0.5) < 1e-9);
      await allInContact([a, again]);
      const heard = again.counters.othersSpend(KEY, 'day', 1);
      assert.ok(Math.abs(heard.committed - 0.15) < 1e-9, JSON.stringify(heard));
      assert.equal(periodOf('day', Date.now()).id.length, 10);
    } finally {
      again.stop();
    }
  } finally {
    a.stop();
    bus.close();
    a.db.close();
    b.db.close();
  }
});

test('limits messages out of shape are refused before they are merged', () => {
  const good = { v: 1, e: 1_700_000_000_000_000, hears: [], keys: [{ k: KEY, a: 1, h: 0, r: [[1_700_000_000, 1, 0, 0]] }] };
  assert.notEqual(parseLimitsMessage(good), null);
  for (const bad of [
    { ...good, v: 2 },
    { ...good, keys: [{ k: 'not-a-key-id', a: 1, h: 0 }] },
    { ...good, keys: [{ k: KEY, a: -1, h: 0 }] },
    { ...good, keys: [{ k: KEY, a: 1, h: 0, r: [[1, 'x', 0, 0]] }] },
    { ...good, keys: Array.from({ length: 201 }, () => ({ k: KEY, a: 1, h: 0 })) },
    { ...good, acks: [['peer', 1, KEY, Number.POSITIVE_INFINITY, 0]] },
    { ...good, hears: 'everyone' },
    { ...good, snap: { id: 1, part: 3, parts: 2 } },
  ])
    assert.equal(parseLimitsMessage(bad), null, JSON.stringify(bad).slice(0, 120));
});
