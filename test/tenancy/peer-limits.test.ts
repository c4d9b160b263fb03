// Per-peer forward limits in detail: TPM, budget holds priced on the target a forward is tried at, streams settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type TargetConfig } from '../../src/config/index.ts';
import { migrate, openDatabase } from '../../src/core/database.ts';
import { RateLimitError } from '../../src/core/errors.ts';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { createContext, pipeline, type Handler, type Outcome } from '../../src/pipeline/index.ts';
import { promptTokens } from '../../src/router/index.ts';
import { Allowances, Budgets, peerLimitsLayer, TENANCY_MIGRATIONS } from '../../src/tenancy/index.ts';
import { PriceTable } from '../../src/usage/index.ts';
import { jsonOutcome } from '../chat-outcome.ts';

const NOW = Date.UTC(2026, 0, 5, 12);
const target = (model: string): TargetConfig => ({ id: model, kind: 'provider', model, weight: 1 });
const json = (model: string, completion = 1): Outcome<'chat'> => jsonOutcome(model, { prompt: 1, completion });

/** The forwarded path's admission around a stand-in router that asks the budget gate for each target it tries. */
function forwardedPath(forwardLimits: string | null, core: Handler<'chat'>) {
  const config = parseConfig(
    `mesh:
  secret_file: /nonexistent/mesh.key
${forwardLimits ? `  forward_limits: ${forwardLimits}\n` : ''}chains:
  default:
    - { model: gpt-4o-mini, provider: openai, url: "http://127.0.0.1:9/v1" }
`,
    'test.yaml',
    {},
    { dataDir: '/nonexistent' },
  );
  const db = openDatabase(':memory:');
  migrate(db, TENANCY_MIGRATIONS);
  const budgets = new Budgets(db);
  const handler = pipeline<'chat'>([peerLimitsLayer(() => config, new Allowances({ budgets, prices: new PriceTable(), now: () => NOW }))], core);
  const forward = (peer: string, req: ChatRequest) =>
    handler(
      req,
      createContext({
        requestId: 'r',
        operation: 'chat',
        signal: new AbortController().signal,
        client: { id: `peer:${peer}` },
        forwardedBy: peer,
        countPrompt: () => promptTokens(req),
      }),
    );
  return { forward, spent: (peer: string) => budgets.spent(`peer:${peer}`, 'day', NOW), close: () => db.close() };
}

/** Tries each model in turn through the gate, like the router's walk: a refused target is skipped. */
function tries(models: string[], completion = 1): Handler<'chat'> {
  return async (_req, ctx) => {
    for (const m of models) {
      try {
        (await ctx.gate?.(target(m), m))?.keep();
        return json(m, completion);
      } catch (err) {
        if (!(err instanceof RateLimitError)) throw err;
      }
    }
    throw new RateLimitError('every target refused', 'budget_exceeded');
  };
}

const req = (content: string, extra: Record<string, unknown> = {}): ChatRequest => ({ model: 'default', messages: [{ role: 'user', content }], ...extra });

test('tpm: a peer whose forwards would pass its tokens per minute is refused with tokens_per_minute_exceeded; other peers are not', async () => {
  // Each forward takes its prompt plus max_tokens (about 205) and is settled to the 251 tokens it used.
  const p = forwardedPath('{ tpm: 300 }', tries(['gpt-4o-mini'], 250));
  try {
    await p.forward('peer-a', req('hi', { max_tokens: 200 }));
    await assert.rejects(
      p.forward('peer-a', req('hi', { max_tokens: 200 })),
      (e: unknown) => e instanceof RateLimitError && e.code === 'tokens_per_minute_exceeded' && /mesh\.forward_limits/.test(e.message),
    );
    await p.forward('peer-b', req('hi', { max_tokens: 200 }));
  } finally {
    p.close();
  }
});

test('a budget hold is priced on the model of the target tried: too dear a target is refused, a cheaper one then answers', async () => {
  const p = forwardedPath('{ budget_usd: 0.01, budget_period: day }', tries(['gpt-4o', 'gpt-4o-mini']));
  try {
    // 1024 reserved output tokens of gpt-4o ($10/M) is $0.01024, more than the whole budget; gpt-4o-mini fits.
    const out = await p.forward('peer-a', req('hi'));
    assert.equal(out.kind === 'json' && out.response.model, 'gpt-4o-mini');
    // Settled on what it really used: 1 prompt + 1 completion token of gpt-4o-mini.
    assert.ok(Math.abs(p.spent('peer-a') - (0.15 + 0.6) / 1e6) < 1e-15, String(p.spent('peer-a')));
  } finally {
    p.close();
  }
});

test('a streamed forward is charged what its chunks carried once the stream ends, even when abandoned', async () => {
  const stream: Handler<'chat'> = async (_req, ctx) => {
    (await ctx.gate?.(target('gpt-4o'), 'gpt-4o'))?.keep();
    async function* chunks(): AsyncGenerator<ChatChunk> {
      yield { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] };
      yield {
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o',
        choices: [],
        usage: { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 },
      };
      yield {
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o',
        choices: [{ index: 0, delta: { content: 'never read' }, finish_reason: null }],
      };
    }
    return { kind: 'stream', chunks: chunks(), firstByteMs: 1 };
  };
  const p = forwardedPath('{ budget_usd: 1 }', stream);
  try {
    const result = await p.forward('peer-a', req('hi', { max_tokens: 100 }));
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await result.chunks.next();
    await result.chunks.next();
    await result.chunks.return(undefined);
    // gpt-4o: 1000 × $2.5/M + 1000 × $10/M
    assert.ok(Math.abs(p.spent('peer-a') - 0.0125) < 1e-12, String(p.spent('peer-a')));
  } finally {
    p.close();
  }
});

test('without mesh.forward_limits a peer is admitted without any hold', async () => {
  let gated = 0;
  const p = forwardedPath(null, async (_req, ctx) => {
    if (ctx.gate) gated++;
    return json('gpt-4o-mini');
  });
  try {
    for (let i = 0; i < 1000; i++) await p.forward('peer-a', req('hi'));
    assert.equal(gated, 0);
  } finally {
    p.close();
  }
});
