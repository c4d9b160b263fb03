// Breakers, retries and limits around "send to target", driven with an injected clock, randomness and sleep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type TargetConfig } from '../../src/config/index.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import type { ChatRequest } from '../../src/core/openai.ts';
import { Router } from '../../src/router/index.ts';
import type { ChatResult } from '../../src/providers/index.ts';
import { CircuitBreaker } from '../../src/router/breaker.ts';
import { backoffDelay } from '../../src/router/retry.ts';
import { routeChat } from './fakes.ts';
import { jsonOutcome } from '../chat-outcome.ts';

type Send = (target: TargetConfig, req: ChatRequest) => Promise<ChatResult>;

const ok = (content = 'ok'): ChatResult => jsonOutcome('m', { prompt: 10, completion: 10 }, content);

function routerFor(yaml: string, send: Send, extra: { now?: () => number; sleeps?: number[]; random?: () => number } = {}) {
  const config = parseConfig(yaml, 't.yaml', {}, { dataDir: '/tmp' });
  return new Router({
    config,
    send: (async (t: TargetConfig, _op: string, r: ChatRequest) => send(t, r)) as never,
    now: extra.now,
    random: extra.random ?? (() => 0.5),
    sleep: async (ms) => {
      extra.sleeps?.push(ms);
    },
  });
}

const req = (): ChatRequest => ({ model: 'c', messages: [{ role: 'user', content: 'hi' }] });

const TWO = (router = '') => `
chains:
  c:
    - { provider: openai, name: a, model: ma, url: "http://127.0.0.1:1/v1" }
    - { provider: openai, name: b, model: mb, url: "http://127.0.0.1:1/v1" }
${router}`;

test('breaker: opens after N failures within the window, half-opens after the cooldown, one probe at a time', () => {
  const b = new CircuitBreaker({ failures: 3, windowMs: 1000, cooldownMs: 5000, maxCooldownMs: 60_000 });
  b.failure(0);
  b.failure(100);
  b.failure(1200); // the first two fell out of the window
  assert.equal(b.state(1200), 'closed');
  b.failure(1300);
  b.failure(1400);
  assert.equal(b.state(1400), 'open');
  assert.equal(b.tryPass(6399), false);
  assert.equal(b.state(6400), 'half-open');
  assert.equal(b.tryPass(6400), true);
  assert.equal(b.tryPass(6401), false, 'a second caller waits for the probe');
  b.failure(6500);
  assert.equal(b.state(6500), 'open');
  assert.equal(b.retryInMs(6500), 5000);
  assert.equal(b.tryPass(11_500), true);
  b.success();
  assert.equal(b.state(11_501), 'closed');
});

test('breaker: the cooldown follows retry-after when the upstream gives one (capped)', () => {
  const b = new CircuitBreaker({ failures: 1, windowMs: 1000, cooldownMs: 5000, maxCooldownMs: 20_000 });
  b.failure(0, 12_000);
  assert.equal(b.retryInMs(0), 12_000);
  b.success();
  b.failure(0, 999_999);
  assert.equal(b.retryInMs(0), 20_000);
});

test('an open breaker skips its target at zero cost, and a passing probe after the cooldown closes it', async () => {
  let now = 0;
  let aFails = true;
  const calls: string[] = [];
  const router = routerFor(
    TWO('router: { breaker_failures: 2, breaker_window_ms: 10000, breaker_cooldown_ms: 5000 }'),
    async (t) => {
      calls.push(t.id);
      if (t.id === 'a' && aFails) throw new UpstreamError('connect', 'a: connection failed (ECONNREFUSED)');
      return ok(t.id);
    },
    { now: () => now },
  );
  for (let i = 0; i < 2; i++) await routeChat(router, req());
  assert.deepEqual(calls, ['a', 'b', 'a', 'b']);
  assert.equal(router.status().targets.find((t) => t.id === 'a')!.breaker.state, 'open');
  calls.length = 0;
  const routed = await routeChat(router, req());
  assert.deepEqual(calls, ['b'], 'a was not called');
  assert.equal(routed.attempts[0].ms, 0);
  assert.match(routed.attempts[0].reason, /circuit open/);
  now = 5000;
  aFails = false;
  calls.length = 0;
  const probe = await routeChat(router, req());
  assert.equal(probe.target, 'a');
  assert.equal(router.status().targets.find((t) => t.id === 'a')!.breaker.state, 'closed');
});

test('/ready follows the breakers: not ready once every target is open', async () => {
  const router = routerFor(
    TWO('router: { breaker_failures: 1 }'),
    async () => {
      throw new UpstreamError('server', 'down', { upstreamStatus: 500 });
    },
    { now: () => 0 },
  );
  assert.equal(router.available(), true);
  await assert.rejects(routeChat(router, req()));
  assert.equal(router.available(), false);
});

test('retries: exponential backoff with full jitter, bounded by retries, then the next target', async () => {
  const sleeps: number[] = [];
  let aCalls = 0;
  const router = routerFor(
    TWO('router: { retries: 3, retry_base_ms: 100, retry_max_ms: 300, breaker_failures: 100 }'),
    async (t) => {
      if (t.id === 'a') {
        aCalls++;
        throw new UpstreamError('server', 'boom', { upstreamStatus: 500 });
      }
      return ok();
    },
    { sleeps, random: () => 0.5 },
  );
  const routed = await routeChat(router, req());
  assert.equal(aCalls, 4);
  assert.deepEqual(sleeps, [50, 100, 150], 'half of 100, 200, then the 300 cap');
  assert.equal(routed.target, 'b');
  assert.equal(routed.attempts[0].tries, 4);
});

test('retries honour retry-after, and skip a target whose retry-after exceeds the cap', async () => {
  const sleeps: number[] = [];
  let n = 0;
  const router = routerFor(
    TWO('router: { retries: 2, max_retry_after_ms: 2000, breaker_failures: 100 }'),
    async (t) => {
      if (t.id === 'a' && n++ === 0) throw new UpstreamError('rate_limit', 'slow down', { upstreamStatus: 429, retryAfterMs: 1500 });
      return ok(t.id);
    },
    { sleeps },
  );
  assert.equal((await routeChat(router, req())).target, 'a');
  assert.deepEqual(sleeps, [1500]);
  assert.deepEqual(
    backoffDelay(0, 5000, { retryBaseMs: 100, retryMaxMs: 1000, maxRetryAfterMs: 2000 }, () => 0.5),
    undefined,
  );
});

test('a client error is never retried', async () => {
  let calls = 0;
  const router = routerFor(TWO('router: { retries: 3 }'), async () => {
    calls++;
    throw new UpstreamError('client', 'bad temperature', { upstreamStatus: 400 });
  });
  await assert.rejects(routeChat(router, req()), /bad temperature/);
  assert.equal(calls, 1);
});

test('a target at its concurrency limit is skipped until a request settles', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const router = routerFor(
    `
chains:
  c:
    - { provider: openai, name: a, model: ma, url: "http://127.0.0.1:1/v1", max_concurrency: 1 }
    - { provider: openai, name: b, model: mb, url: "http://127.0.0.1:1/v1" }
`,
    async (t) => {
      if (t.id === 'a') await gate;
      return ok(t.id);
    },
  );
  const first = routeChat(router, req());
  const second = await routeChat(router, req());
  assert.equal(second.target, 'b');
  assert.match(second.attempts[0].reason, /concurrency limit 1/);
  assert.equal(router.status().targets[0].in_flight, 1);
  release();
  assert.equal((await first).target, 'a');
  assert.equal(router.status().targets[0].in_flight, 0);
  assert.equal((await routeChat(router, req())).target, 'a');
});

test('RPM and TPM limits skip a full target within the minute and let it back after', async () => {
  let now = 0;
  const router = routerFor(
    `
chains:
  rpm:
    - { provider: openai, name: a, model: ma, url: "http://127.0.0.1:1/v1", rpm: 2 }
    - { provider: openai, name: b, model: mb, url: "http://127.0.0.1:1/v1" }
  tpm:
    - { provider: openai, name: t, model: mt, url: "http://127.0.0.1:1/v1", tpm: 22 }
    - { provider: openai, name: u, model: mu, url: "http://127.0.0.1:1/v1" }
`,
    async (t) => ok(t.id),
    { now: () => now },
  );
  const targets = async (model: string, n: number) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await routeChat(router, { ...req(), model })).target);
    return out;
  };
  assert.deepEqual(await targets('rpm', 3), ['a', 'a', 'b']);
  now = 60_001;
  assert.deepEqual(await targets('rpm', 1), ['a']);
  // Each call settles at its real 20 tokens: with the next estimate the window would pass 22.
  assert.deepEqual(await targets('tpm', 2), ['t', 'u']);
  assert.equal(router.status().targets.find((t) => t.id === 't')!.limits.tokens_last_minute, 20);
});
