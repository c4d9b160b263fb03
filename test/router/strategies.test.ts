// Each strategy's order: priority as written, round-robin rotating, weighted by weight, least-latency, cost within thresholds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type ChainConfig } from '../../src/config/index.ts';
import { orderTargets, type OrderContext } from '../../src/router/strategies.ts';
import { TargetStates } from '../../src/router/stats.ts';
import { PriceTable } from '../../src/usage/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { startTestNode } from '../helpers.ts';
import { seeded } from './fakes.ts';

function chainOf(yaml: string, name = 'c'): ChainConfig {
  return parseConfig(yaml, 't.yaml', {}, { dataDir: '/tmp' }).chains.get(name)!;
}

function ctx(over: Partial<OrderContext> = {}): OrderContext {
  return {
    states: new TargetStates({ failures: 5, windowMs: 1000, cooldownMs: 1000, maxCooldownMs: 1000 }),
    random: seeded(1),
    rotation: new Map(),
    requestedModel: 'x',
    promptTokens: () => 1000,
    ...over,
  };
}

const ids = (list: { id: string }[]) => list.map((t) => t.id);

const three = (strategy: string, extra = '') =>
  chainOf(`
chains:
  c:
    strategy: ${strategy}
    ${extra}
    targets:
      - { provider: openai, name: a, model: gpt-4o, url: "http://127.0.0.1:1/v1", weight: 6, quality: 9 }
      - { provider: openai, name: b, model: gpt-4o-mini, url: "http://127.0.0.1:1/v1", weight: 3, quality: 6 }
      - { provider: local, name: c, model: llama, url: "http://127.0.0.1:1/v1", weight: 1, quality: 3 }
`);

test('priority keeps the order written in the chain', () => {
  assert.deepEqual(ids(orderTargets(three('priority'), ctx())), ['a', 'b', 'c']);
});

test('round-robin starts one target later on each request', () => {
  const chain = three('round-robin');
  const c = ctx();
  assert.deepEqual(
    [1, 2, 3, 4].map(() => ids(orderTargets(chain, c)).join('')),
    ['abc', 'bca', 'cab', 'abc'],
  );
});

test('weighted picks the first target in proportion to its weight and still lists every target', () => {
  const chain = three('weighted');
  const c = ctx({ random: seeded(42) });
  const first: Record<string, number> = { a: 0, b: 0, c: 0 };
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const order = ids(orderTargets(chain, c));
    assert.equal(new Set(order).size, 3);
    first[order[0]]++;
  }
  assert.ok(Math.abs(first.a / N - 0.6) < 0.02, `a: ${first.a}`);
  assert.ok(Math.abs(first.b / N - 0.3) < 0.02, `b: ${first.b}`);
  assert.ok(Math.abs(first.c / N - 0.1) < 0.02, `c: ${first.c}`);
});

test('least-latency tries unmeasured targets first, then the lowest moving average of first-byte latency', () => {
  const chain = three('least-latency');
  const c = ctx();
  c.states.get('a').stats.recordLatency(300);
  c.states.get('c').stats.recordLatency(50);
  assert.deepEqual(ids(orderTargets(chain, c)), ['b', 'c', 'a']);
  c.states.get('b').stats.recordLatency(100);
  assert.deepEqual(ids(orderTargets(chain, c)), ['c', 'b', 'a']);
  // The average moves with recent samples: c becomes slow.
  for (let i = 0; i < 10; i++) c.states.get('c').stats.recordLatency(1000);
  assert.deepEqual(ids(orderTargets(chain, c)), ['b', 'a', 'c']);
});

test('cost picks the cheapest target that meets the quality tier and p95 latency, the rest after', () => {
  const prices = new PriceTable();
  // No thresholds: the free local model first, then mini, then 4o.
  assert.deepEqual(ids(orderTargets(three('cost'), ctx({ prices }))), ['c', 'b', 'a']);
  // Quality 5 or better rules out the local model; it stays as a last resort.
  assert.deepEqual(ids(orderTargets(three('cost', 'min_quality: 5'), ctx({ prices }))), ['b', 'a', 'c']);
  // b is too slow lately (p95 above 500 ms): a goes first among the eligible.
  const c = ctx({ prices });
  for (let i = 0; i < 20; i++) c.states.get('b').stats.recordLatency(900);
  assert.deepEqual(ids(orderTargets(three('cost', 'min_quality: 5\n    max_p95_ms: 500'), c)), ['a', 'b', 'c']);
});

test('cost uses the overridable price table', () => {
  const prices = new PriceTable({ 'gpt-4o': { input: 0.01, output: 0.01 } });
  assert.deepEqual(ids(orderTargets(three('cost', 'min_quality: 5'), ctx({ prices }))), ['a', 'b', 'c']);
});

test('through a real node, round-robin spreads requests over the targets in turn', async () => {
  const up = await startFakeOpenAI();
  const gw = await startTestNode(`
chains:
  rr:
    strategy: round-robin
    targets:
      - { provider: openai, name: x, model: mx, url: "${up.url}" }
      - { provider: openai, name: y, model: my, url: "${up.url}" }
      - { provider: openai, name: z, model: mz, url: "${up.url}" }
`);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'rr', messages: [{ role: 'user', content: 'hi' }] }),
      });
      seen.push(res.headers.get('x-flowrouter-target')!);
    }
    assert.deepEqual(seen, ['x', 'y', 'z', 'x', 'y', 'z']);
    assert.deepEqual(
      up.requests.map((r) => r.body.model),
      ['mx', 'my', 'mz', 'mx', 'my', 'mz'],
    );
  } finally {
    await gw.stop();
    await up.close();
  }
});
