// Per-target windows and samples stay constant in size however many requests pass, and still answer correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UsageWindow } from '../../src/router/limits.ts';
import { TargetStats } from '../../src/router/stats.ts';
import { CircuitBreaker } from '../../src/router/breaker.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('a usage window updated a million times with an advancing clock keeps at most a minute of state', () => {
  const w = new UsageWindow();
  const STEP_MS = 7;
  const N = 1_000_000;
  const before = heapAfterGc();
  for (let i = 0; i < N; i++) w.reserve(i * STEP_MS, 10).settle(i % 2 === 0 ? 4 : undefined);
  // Measured before any read: a window that prunes only when read would hold all million requests here.
  const grown = heapAfterGc() - before;
  assert.ok(grown < 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KB over ${N} requests`);
  assert.ok(w.heldBuckets() <= 60, `${w.heldBuckets()} buckets`);

  // The answer counts exactly the requests whose second is among the last sixty.
  const now = (N - 1) * STEP_MS;
  const firstSecond = Math.floor(now / 1000) - 59;
  let requests = 0;
  let tokens = 0;
  for (let i = 0; i < N; i++) {
    if (Math.floor((i * STEP_MS) / 1000) < firstSecond) continue;
    requests++;
    tokens += i % 2 === 0 ? 4 : 10;
  }
  assert.equal(w.requests(now), requests);
  assert.equal(w.tokens(now), tokens);
  assert.ok(requests > 8_400 && requests <= 60_000 / STEP_MS + 1, String(requests));
  // An hour later the window is empty and still sixty buckets at most.
  assert.equal(w.requests(now + 3_600_000), 0);
  assert.equal(w.heldBuckets(), 0);
});

test('latency and outcome samples are fixed rings: p95 and the error rate cover the last 100 attempts', () => {
  const s = new TargetStats();
  const before = heapAfterGc();
  for (let i = 0; i < 1_000_000; i++) {
    s.recordLatency(i % 1000);
    s.recordOutcome(i % 10 !== 0);
  }
  assert.ok(heapAfterGc() - before < 256 * 1024);
  assert.equal(s.requests, 1_000_000);
  assert.equal(s.failures, 100_000);
  assert.equal(s.errorRate(), 0.1);
  // The last 100 latencies are 900…999: the 95th is 994.
  assert.equal(s.p95(), 994);
  for (let i = 0; i < 100; i++) s.recordOutcome(true);
  assert.equal(s.errorRate(), 0);
});

test('a breaker under a million failures below its threshold keeps a constant window', () => {
  // The threshold is never reached within the window: 1,000 failures per second against a limit of 100,000 a second.
  const b = new CircuitBreaker({ failures: 100_000, windowMs: 1_000, cooldownMs: 5_000, maxCooldownMs: 60_000 });
  const before = heapAfterGc();
  for (let i = 0; i < 1_000_000; i++) b.failure(i);
  assert.ok(heapAfterGc() - before < 256 * 1024);
  assert.equal(b.state(1_000_000), 'closed');
  const tight = new CircuitBreaker({ failures: 1_001, windowMs: 1_000, cooldownMs: 5_000, maxCooldownMs: 60_000 });
  for (let i = 0; i < 1_000; i++) tight.failure(i);
  assert.equal(tight.state(999), 'closed');
  tight.failure(999);
  assert.equal(tight.state(999), 'open');
});
