// Watches every request from the outside of its pipeline and reports what happened once it has ended.
import type { Usage } from '../core/openai.ts';
import type { ClientApi } from '../core/passthrough.ts';
import { renderError } from '../core/errors.ts';
import type { AnyLayer, Operation } from '../pipeline/index.ts';

/** Everything the metrics and the request log need about one finished request. */
export interface RequestRecord {
  requestId: string;
  operation: Operation;
  /** The client API the request came in; absent means chat. */
  api?: ClientApi;
  /** `none` when the request failed before a chain was chosen. */
  chain: string;
  target: string;
  attempts: number;
  /** hit, miss or bypass, when the cache looked at the request. */
  cache?: string;
  /** The model that answered (from the response), else the model asked for. */
  model: string;
  client: string;
  /** The HTTP status sent; 499 when the client went away, the error's status when a stream broke. */
  status: number;
  stream: boolean;
  usage?: Usage;
  durationMs: number;
  /** Until the pipeline produced its answer (the upstream's first byte for streams); absent on failure. */
  firstByteMs?: number;
  aborted: boolean;
  error?: string;
}

export interface RequestObserver {
  onStart?: () => void;
  onEnd: (record: RequestRecord) => void;
}

function messageOf(err: unknown): string | undefined {
  return err === undefined ? undefined : err instanceof Error ? err.message : String(err);
}

/**
 * A layer that calls each observer's `onEnd` exactly once per request, from the request's stream tap. Several
 * observers share one layer, so a stream is watched once however many listen.
 */
export function observeRequests(...observers: RequestObserver[]): AnyLayer {
  return (next) => (req, ctx) => {
    for (const o of observers) o.onStart?.();
    ctx.tap.onEnd((end) => {
      const trace = ctx.trace;
      const failed = end.status !== 'complete';
      const status = end.status === 'aborted' ? 499 : end.status === 'error' ? renderError(end.error).status : 200;
      const record: RequestRecord = {
        requestId: ctx.requestId,
        operation: ctx.operation,
        api: ctx.api,
        chain: trace.route?.chain.name ?? 'none',
        target: end.response === undefined && failed ? 'none' : (trace.target ?? 'none'),
        attempts: trace.attempts.length,
        cache: trace.cache,
        model: end.response?.model || req.model,
        client: ctx.client?.id ?? 'anonymous',
        status,
        stream: end.stream,
        usage: end.usage,
        durationMs: end.durationMs,
        firstByteMs: end.firstByteMs,
        aborted: end.status === 'aborted',
        error: messageOf(end.error),
      };
      for (const o of observers) o.onEnd(record);
    });
    return next(req, ctx);
  };
}
