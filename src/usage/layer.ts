// Usage on every request path: one ledger row per request (answers, streams, errors, cache hits) as it ends.
import type { ChatRequest, ChatResponse } from '../core/openai.ts';
import type { NodeConfig } from '../config/index.ts';
import { FlowRouterError } from '../core/errors.ts';
import type { AnyLayer, RequestContext, RequestEnd } from '../pipeline/index.ts';
import { promptFingerprint } from './fingerprint.ts';
import type { UsageLedger, UsageRow } from './ledger.ts';
import type { PriceTable } from './prices.ts';
import { usageOf } from './tokens.ts';

/** Told about every answered chat request (the shadow sampler listens here). */
export type AnswerListener = (req: ChatRequest, ctx: RequestContext, row: UsageRow, answer: ChatResponse) => void;

export interface UsageLayerDeps {
  ledger: UsageLedger;
  prices: PriceTable;
  config: () => NodeConfig;
  onAnswer?: AnswerListener;
}

function providerOf(config: NodeConfig, targetId: string | null): string | null {
  if (!targetId) return null;
  if (targetId.startsWith('peer:')) return 'mesh';
  for (const chain of config.chains.values()) {
    const t = chain.targets.find((x) => x.id === targetId);
    if (t) return t.account?.type ?? t.kind;
  }
  return null;
}

function statusOf(end: RequestEnd): { status: number; code: string | null } {
  if (end.status === 'complete') return { status: 200, code: null };
  if (end.status === 'aborted') return { status: 499, code: 'client_closed_request' };
  if (end.error instanceof FlowRouterError) return { status: end.error.status, code: end.error.code };
  return { status: 500, code: 'internal_error' };
}

/** The fingerprint groups calls of one prompt template; other operations are grouped by operation. */
function fingerprintOf(req: { model: string }, ctx: RequestContext): string {
  return ctx.operation === 'chat' ? promptFingerprint(req as ChatRequest) : ctx.operation;
}

export function usageLayer(deps: UsageLayerDeps): AnyLayer {
  return (next) => (req, ctx) => {
    const config = deps.config();
    const ts = Date.now();
    const fingerprint = fingerprintOf(req, ctx);
    const stream = (req as { stream?: unknown }).stream === true;
    ctx.tap.onEnd((end) => {
      const { status, code } = statusOf(end);
      const trace = ctx.trace;
      const answered = end.response !== undefined || trace.cache === 'hit';
      const target = trace.target ?? trace.attempts.at(-1)?.target ?? null;
      const base = {
        ts,
        requestId: ctx.requestId,
        clientId: ctx.client?.id ?? null,
        viaPeer: ctx.forwardedBy ?? null,
        fingerprint,
        stream,
        target,
        provider: providerOf(config, target),
        latencyMs: Math.round(end.durationMs * 1000) / 1000,
        status,
        errorCode: code,
      };
      if (!answered) {
        deps.ledger.record({
          ...base,
          chain: null,
          model: req.model,
          promptTokens: 0,
          completionTokens: 0,
          cachedTokens: 0,
          usageSource: 'none',
          cost: 0,
          costSaved: 0,
          firstByteMs: null,
          cache: 'miss',
          tokensSaved: 0,
        });
        return;
      }
      const { usage, source } = usageOf(end, ctx.promptTokens);
      const model = end.response?.model || req.model;
      const price = deps.prices.costOf(model, usage);
      const hit = trace.cache === 'hit';
      const row: UsageRow = {
        ...base,
        chain: trace.route?.chain.name ?? null,
        model,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
        cacheWriteTokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
        usageSource: source,
        cost: hit ? 0 : price,
        costSaved: hit ? price : 0,
        firstByteMs: end.firstByteMs === undefined ? null : Math.round(end.firstByteMs * 1000) / 1000,
        cache: trace.cache ?? 'bypass',
        tokensSaved: hit ? usage.prompt_tokens + usage.completion_tokens : trace.tokensSaved,
      };
      deps.ledger.record(row);
      if (end.status === 'complete' && !hit && end.response?.object === 'chat.completion') deps.onAnswer?.(req as ChatRequest, ctx, row, end.response);
    });
    return next(req, ctx);
  };
}
