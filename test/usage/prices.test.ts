// Pricing a call: uncached prompt, cache reads and cache writes each at their own price, counted once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriceTable } from '../../src/usage/index.ts';
import { promptParts } from '../../src/core/openai.ts';

test('prices: cache reads and writes are split out of prompt_tokens and priced apart (Anthropic: writes 1.25×, reads 0.1×)', () => {
  const t = new PriceTable();
  // claude-sonnet-4: input 3, cached 0.3, write 3.75, output 15 per million.
  const usage = { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 600, cache_write_tokens: 300 } };
  assert.deepEqual(promptParts(usage), { uncached: 100, cacheRead: 600, cacheWrite: 300 });
  assert.equal(t.costOf('claude-sonnet-4-20250514', usage), (100 * 3 + 600 * 0.3 + 300 * 3.75 + 100 * 15) / 1e6);
});

test('prices: OpenAI-style usage with cached tokens only bills the rest at the input price', () => {
  const t = new PriceTable();
  assert.equal(
    t.costOf('gpt-4o', { prompt_tokens: 1000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 400 } }),
    (600 * 2.5 + 400 * 1.25) / 1e6,
  );
});

test('prices: a config override may price cache writes; without one they cost the input price', () => {
  const t = new PriceTable({ mine: { input: 1, output: 2, cachedInput: 0.5, cacheWrite: 4 }, plain: { input: 1, output: 2 } });
  const usage = { prompt_tokens: 10, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 2, cache_write_tokens: 3 } };
  assert.equal(t.costOf('mine', usage), (5 * 1 + 2 * 0.5 + 3 * 4) / 1e6);
  assert.equal(t.costOf('plain', usage), 10 / 1e6);
});

test('prices: more cache tokens reported than prompt tokens never bill a negative uncached part', () => {
  assert.deepEqual(promptParts({ prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 4, cache_write_tokens: 4 } }), {
    uncached: 0,
    cacheRead: 4,
    cacheWrite: 4,
  });
});
