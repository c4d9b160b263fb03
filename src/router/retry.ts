// Per-target retries: exponential backoff with full jitter, bounded, waiting out a retry-after when it is short enough.
import { setTimeout as delay } from 'node:timers/promises';
import { UpstreamError } from '../core/errors.ts';
import type { RouterSettings } from '../config/index.ts';
import type { Interceptor } from './interceptors.ts';

/** Kinds worth a second try on the same target: transient by nature. Auth, client and context errors are not. */
const RETRYABLE = new Set(['connect', 'timeout', 'rate_limit', 'overloaded', 'server', 'protocol']);

export function isRetryable(err: unknown): boolean {
  return err instanceof UpstreamError && RETRYABLE.has(err.kind) && err.code !== 'target_skipped';
}

/**
 * The wait before retry number `attempt + 1`: the upstream's retry-after when given (undefined when it is longer than
 * we are willing to wait, so the walk moves on instead), else a uniform draw in [0, min(max, base·2^attempt)).
 */
export function backoffDelay(
  attempt: number,
  retryAfterMs: number | null,
  s: Pick<RouterSettings, 'retryBaseMs' | 'retryMaxMs' | 'maxRetryAfterMs'>,
  random: () => number,
): number | undefined {
  if (retryAfterMs !== null) return retryAfterMs <= s.maxRetryAfterMs ? retryAfterMs : undefined;
  return random() * Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** attempt);
}

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

export function withRetry(settings: () => RouterSettings, random: () => number, sleep: Sleep): Interceptor {
  return (next) => async (ctx) => {
    for (let attempt = 0; ; attempt++) {
      ctx.tries++;
      try {
        return await next(ctx);
      } catch (err) {
        if (attempt >= ctx.retries || ctx.signal.aborted || !isRetryable(err)) throw err;
        const wait = backoffDelay(attempt, (err as UpstreamError).retryAfterMs, settings(), random);
        if (wait === undefined) throw err;
        await sleep(wait, ctx.signal);
      }
    }
  };
}
