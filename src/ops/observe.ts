// Watches one chat request from the outside of the chat path and reports what happened once it has been written.
import type { ChatChunk, ChatRequest, Usage } from '../core/openai.ts';
import { FlowRouterError, renderError } from '../core/errors.ts';
import type { ChatOutcome, ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';

/** A step on the chat path that wraps the next one; the same shape as `ChatLayer` in src/node.ts. */
export type ChatLayer = (next: ChatService) => ChatService;

/** Everything the metrics and the request log need about one finished chat request. */
export interface RequestRecord {
  requestId: string;
  /** `none` when the request failed before a chain answered. */
  chain: string;
  target: string;
  attempts: number;
  /** The x-flowrouter-cache header (hit, miss, bypass…), when the cache set one. */
  cache?: string;
  /** The model that answered (from the response), else the model asked for. */
  model: string;
  client: string;
  /** The HTTP status sent; 499 when the client went away, the error's status when a stream broke. */
  status: number;
  stream: boolean;
  usage?: Usage;
  durationMs: number;
  /** Until the chat path produced its answer (the upstream's first byte for streams); absent on failure. */
  firstByteMs?: number;
  aborted: boolean;
  error?: string;
}

export interface ChatObserver {
  onStart?: () => void;
  onEnd: (record: RequestRecord) => void;
}

function statusOf(err: unknown): number {
  return renderError(err).status;
}

/** Yields the chunks unchanged while remembering the usage and model they carry (including internal usage chunks). */
async function* watchChunks(chunks: AsyncGenerator<ChatChunk>, seen: { usage?: Usage; model?: string }): AsyncGenerator<ChatChunk> {
  for await (const chunk of chunks) {
    if (chunk.usage) seen.usage = chunk.usage;
    if (chunk.model) seen.model ??= chunk.model;
    yield chunk;
  }
}

/**
 * A layer that calls each observer's `onEnd` exactly once per request: after the response was written, or when it
 * failed. Several observers share one layer, so a stream is watched once however many listen.
 */
export function observeChat(...observers: ChatObserver[]): ChatLayer {
  const observer: Required<ChatObserver> = {
    onStart: () => { for (const o of observers) o.onStart?.(); },
    onEnd: (record) => { for (const o of observers) o.onEnd(record); },
  };
  return (next) => async (req: ChatRequest, meta: RequestMeta): Promise<ChatOutcome> => {
    const started = performance.now();
    const client = meta.client?.id ?? 'anonymous';
    observer.onStart();
    let outcome: ChatOutcome;
    try {
      outcome = await next(req, meta);
    } catch (err) {
      // A routing failure names its chain and attempts in the error's headers.
      const eh = err instanceof FlowRouterError ? err.headers : {};
      observer.onEnd({
        requestId: meta.requestId, chain: eh['x-flowrouter-chain'] ?? 'none', target: 'none', attempts: Number(eh['x-flowrouter-attempts'] ?? 0), model: req.model, client,
        status: statusOf(err), stream: req.stream === true, durationMs: performance.now() - started,
        aborted: meta.signal.aborted, error: err instanceof Error ? err.message : String(err),
      });
      throw err;
    }
    const firstByteMs = performance.now() - started;
    const seen: { usage?: Usage; model?: string } = {};
    const result = outcome.result.kind === 'json' ? outcome.result : { ...outcome.result, chunks: watchChunks(outcome.result.chunks, seen) };
    if (result.kind === 'json') {
      seen.usage = result.response.usage;
      seen.model = result.response.model;
    }
    const h = outcome.headers;
    return {
      ...outcome,
      result,
      done: (end) => {
        outcome.done?.(end);
        const status = end.aborted ? 499 : end.error !== undefined ? statusOf(end.error) : 200;
        observer.onEnd({
          requestId: meta.requestId, chain: h['x-flowrouter-chain'] ?? 'none', target: h['x-flowrouter-target'] ?? 'none',
          attempts: Number(h['x-flowrouter-attempts'] ?? 0), cache: h['x-flowrouter-cache'], model: seen.model || req.model, client,
          status, stream: result.kind === 'stream', usage: seen.usage, durationMs: performance.now() - started, firstByteMs,
          aborted: end.aborted, error: end.error === undefined ? undefined : end.error instanceof Error ? end.error.message : String(end.error),
        });
      },
    };
  };
}
