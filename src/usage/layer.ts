// Usage on the chat path: records one ledger row per request (answers, streams, errors, cache hits) as it ends.
import type { ChatChunk, ChatRequest, ChatResponse } from '../core/openai.ts';
import type { NodeConfig } from '../config/index.ts';
import { FlowRouterError } from '../core/errors.ts';
import type { ChatOutcome, ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';
import { assembleChunks, CACHE_HEADER, TOKENS_SAVED_HEADER } from '../cache/index.ts';
import { promptFingerprint } from './fingerprint.ts';
import type { UsageLedger, UsageRow } from './ledger.ts';
import type { PriceTable } from './prices.ts';
import { estimateCompletionTokens, estimatePromptTokens } from './tokens.ts';

/** Told about every answered request (the shadow sampler listens here). */
export type AnswerListener = (req: ChatRequest, meta: RequestMeta, row: UsageRow, answer: ChatResponse) => void;

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

function statusOf(err: unknown): { status: number; code: string | null } {
  if (err instanceof FlowRouterError) return { status: err.status, code: err.code };
  return { status: 500, code: 'internal_error' };
}

export function usageLayer(deps: UsageLayerDeps): (next: ChatService) => ChatService {
  return (next) => async (req: ChatRequest, meta: RequestMeta) => {
    const started = performance.now();
    const config = deps.config();
    const base = {
      ts: Date.now(), requestId: meta.requestId, clientId: meta.client?.id ?? null, fingerprint: promptFingerprint(req), stream: req.stream === true,
    };
    const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
    let recorded = false;
    const record = (row: UsageRow) => {
      if (recorded) return;
      recorded = true;
      deps.ledger.record(row);
    };

    let out: ChatOutcome;
    try {
      out = await next(req, meta);
    } catch (err) {
      const { status, code } = statusOf(err);
      const attempts = err instanceof FlowRouterError ? (err.details.attempts as { target: string }[] | undefined) : undefined;
      const target = attempts?.at(-1)?.target ?? null;
      record({ ...base, chain: null, target, provider: providerOf(config, target), model: req.model, promptTokens: 0, completionTokens: 0, cachedTokens: 0,
        usageSource: 'none', cost: 0, costSaved: 0, latencyMs: elapsed(), firstByteMs: null, status, errorCode: code, cache: 'miss', tokensSaved: 0 });
      throw err;
    }
    const h = out.headers;
    const cache = (h[CACHE_HEADER] ?? 'bypass') as UsageRow['cache'];
    const target = h['x-flowrouter-target'] ?? null;
    const where = { chain: h['x-flowrouter-chain'] ?? null, target, provider: providerOf(config, target) };
    const normalizedAway = Number(h[TOKENS_SAVED_HEADER] ?? 0);

    /** The row for an answer (complete or, for an aborted stream, partial). */
    const answered = (response: ChatResponse | undefined, firstByteMs: number | null, status: number, errorCode: string | null): UsageRow => {
      const model = response?.model || req.model;
      const provided = response?.usage;
      const usage = provided ?? { prompt_tokens: estimatePromptTokens(req), completion_tokens: response ? estimateCompletionTokens(response) : 0 };
      const cachedTokens = provided?.prompt_tokens_details?.cached_tokens ?? 0;
      const cacheWriteTokens = provided?.prompt_tokens_details?.cache_write_tokens ?? 0;
      const price = deps.prices.costOf(model, { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, prompt_tokens_details: provided?.prompt_tokens_details });
      const hit = cache === 'hit';
      return {
        ...base, ...where, model, promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, cachedTokens, cacheWriteTokens,
        usageSource: provided ? 'provider' : 'estimated', cost: hit ? 0 : price, costSaved: hit ? price : 0,
        latencyMs: elapsed(), firstByteMs, status, errorCode, cache,
        tokensSaved: hit ? usage.prompt_tokens + usage.completion_tokens : normalizedAway,
      };
    };

    if (out.result.kind === 'json') {
      const response = out.result.response;
      const firstByteMs = elapsed();
      return {
        ...out,
        done: (end) => {
          const row = answered(response, firstByteMs, end.aborted ? 499 : 200, end.aborted ? 'client_closed_request' : null);
          record(row);
          out.done?.(end);
          if (!end.aborted && cache !== 'hit') deps.onAnswer?.(req, meta, row, response);
        },
      };
    }

    const upstream = out.result.chunks;
    const seen: ChatChunk[] = [];
    let firstByteMs: number | null = null;
    // The row is written when the stream ends normally, before the gateway sends [DONE]: an acknowledged stream has its row.
    async function* tracked(): AsyncGenerator<ChatChunk> {
      for await (const chunk of upstream) {
        firstByteMs ??= elapsed();
        seen.push(chunk);
        yield chunk;
      }
      const response = assembleChunks(seen);
      const row = answered(response, firstByteMs, 200, null);
      record(row);
      if (response && cache !== 'hit') deps.onAnswer?.(req, meta, row, response);
    }
    return {
      ...out,
      result: { ...out.result, chunks: tracked() },
      done: (end) => {
        if (end.aborted || end.error !== undefined) {
          const { status, code } = end.aborted ? { status: 499, code: 'client_closed_request' } : statusOf(end.error);
          record(answered(assembleChunks(seen), firstByteMs, status, code));
        }
        out.done?.(end);
      },
    };
  };
}
