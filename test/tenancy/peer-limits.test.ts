// Per-peer forward limits in detail: TPM, reservations priced on the dearest target a request may reach, streams settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, resolveConfig } from '../../src/config/index.ts';
import { migrate, openDatabase } from '../../src/core/database.ts';
import { RateLimitError } from '../../src/core/errors.ts';
import type { ChatChunk } from '../../src/core/openai.ts';
import { Budgets, PeerLimits, TENANCY_MIGRATIONS } from '../../src/tenancy/index.ts';
import { PriceTable } from '../../src/usage/index.ts';

function limitsFor(forwardLimits: string) {
  const { raw } = parseConfig(`mesh:
  secret_file: /nonexistent/mesh.key
  forward_limits: ${forwardLimits}
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      url: http://127.0.0.1:9/v1
    - model: gpt-4o
      provider: openai
      url: http://127.0.0.1:9/v1
`, 'test.yaml');
  const config = resolveConfig(raw, 'test.yaml', { dataDir: '/nonexistent' });
  const db = openDatabase(':memory:');
  migrate(db, TENANCY_MIGRATIONS);
  const budgets = new Budgets(db);
  return { limits: new PeerLimits({ config: () => config, budgets, prices: new PriceTable(), now: () => Date.UTC(2026, 0, 5, 12) }), budgets, close: () => db.close() };
}

const req = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'default', messages: [{ role: 'user' as const, content }], ...extra });

test('tpm: a peer whose forwards would pass its tokens per minute is refused with tokens_per_minute_exceeded', () => {
  const { limits, close } = limitsFor('{ tpm: 300 }');
  try {
    limits.admit('peer-a', req('hi', { max_tokens: 200 }));
    assert.throws(() => limits.admit('peer-a', req('hi', { max_tokens: 200 })), (e: unknown) => e instanceof RateLimitError && e.code === 'tokens_per_minute_exceeded');
    limits.admit('peer-b', req('hi', { max_tokens: 200 }));
  } finally {
    close();
  }
});

test("a budget reservation is priced on the dearest target of the request's chain, not on the chain's name", () => {
  const { limits, budgets, close } = limitsFor('{ budget_usd: 0.01, budget_period: day }');
  try {
    // 1024 reserved output tokens of gpt-4o ($10/M) is $0.01024: more than the whole budget, so even the first is refused.
    assert.throws(() => limits.admit('peer-a', req('hi')), (e: unknown) => e instanceof RateLimitError && e.code === 'budget_exceeded');
    const hold = limits.admit('peer-a', req('hi', { max_tokens: 100 }));
    hold.release();
    assert.equal(budgets.spent('peer:peer-a', 'day', Date.UTC(2026, 0, 5, 12)), 0);
  } finally {
    close();
  }
});

test('a streamed forward is charged what its chunks carried once the stream ends, even when abandoned', async () => {
  const { limits, budgets, close } = limitsFor('{ budget_usd: 1 }');
  try {
    const hold = limits.admit('peer-a', req('hi', { max_tokens: 100 }));
    async function* chunks(): AsyncGenerator<ChatChunk> {
      yield { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] };
      yield { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 } };
      yield { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'never read' }, finish_reason: null }] };
    }
    const result = hold.settle({ kind: 'stream', chunks: chunks(), firstByteMs: 1 });
    assert.equal(result.kind, 'stream');
    if (result.kind !== 'stream') return;
    await result.chunks.next();
    await result.chunks.next();
    await result.chunks.return(undefined);
    // gpt-4o: 1000 × $2.5/M + 1000 × $10/M
    assert.ok(Math.abs(budgets.spent('peer:peer-a', 'day', Date.UTC(2026, 0, 5, 12)) - 0.0125) < 1e-12);
  } finally {
    close();
  }
});

test('without mesh.forward_limits a peer is admitted without reservations', () => {
  const { raw } = parseConfig('chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:9/v1\n', 'test.yaml');
  const config = resolveConfig(raw, 'test.yaml', { dataDir: '/nonexistent' });
  const db = openDatabase(':memory:');
  migrate(db, TENANCY_MIGRATIONS);
  try {
    const limits = new PeerLimits({ config: () => config, budgets: new Budgets(db), prices: new PriceTable() });
    for (let i = 0; i < 1000; i++) limits.admit('peer-a', req('hi'));
    assert.equal(limits.accepting(), true);
  } finally {
    db.close();
  }
});
