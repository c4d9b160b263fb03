// Resilience as small wrappers around one "call this target" function (undici-interceptor style): breaker, limits, stats.
import { FlowRouterError, UpstreamError } from '../core/errors.ts';
import type { AccountOverride, TargetConfig } from '../config/index.ts';
import type { AttemptGate, AttemptHold, EndListener } from '../pipeline/index.ts';
import { limitReached } from './limits.ts';
import { isCredentialFailure, ownCredentialOf, RefusedCredentials, usesOwnCredential } from './own-credentials.ts';
import type { TargetStates } from './stats.ts';

export interface AttemptContext {
  target: TargetConfig;
  /** The model sent upstream. */
  model: string;
  signal: AbortSignal;
  requestId: string;
  /** Estimated prompt tokens, counted on first use. */
  promptTokens: () => number;
  /** Retries allowed on this target. */
  retries: number;
  /** Upstream calls made so far for this attempt (the retry wrapper counts them). */
  tries: number;
  /** The client's budget, held per attempt at this target's price. */
  gate?: AttemptGate;
  /** The request's own account settings (tenant accounts, upstream keys): failures of a caller's own credential are not the target's. */
  accounts?: Map<string, AccountOverride>;
  /** The request's stream tap: a stream that answered is settled when the request ends. */
  onEnd: (listener: EndListener) => void;
}

export type TargetCall<T> = (ctx: AttemptContext) => Promise<T>;
export type Interceptor = <T>(next: TargetCall<T>) => TargetCall<T>;

/** The first interceptor is the outermost. */
export function compose(interceptors: Interceptor[]): <T>(core: TargetCall<T>) => TargetCall<T> {
  return <T>(core: TargetCall<T>) => interceptors.reduceRight<TargetCall<T>>((next, wrap) => wrap(next), core);
}

/** A target passed over without calling it (open breaker, limit reached): costs nothing and says nothing about its health. */
export class TargetSkipped extends UpstreamError {
  constructor(target: string, why: string) {
    super('overloaded', `${target} skipped: ${why}`, { status: 503, code: 'target_skipped' });
  }
}

/** The client may not spend this target's price (its budget): the walk moves on, and the target's health is untouched. */
export class AttemptRefused extends TargetSkipped {
  readonly refusal: FlowRouterError;

  constructor(target: string, refusal: FlowRouterError) {
    super(target, refusal.message);
    this.refusal = refusal;
  }
}

/** Holds the client's budget for this attempt; a refusal skips the target, a failure gives the hold back. */
export function withGate(): Interceptor {
  return (next) => (ctx) => {
    const gate = ctx.gate;
    if (!gate) return next(ctx);
    const refused = (err: unknown): never => {
      if (err instanceof FlowRouterError) throw new AttemptRefused(ctx.target.id, err);
      throw err;
    };
    let held;
    try {
      held = gate(ctx.target, ctx.model);
    } catch (err) {
      return Promise.reject(err).catch(refused);
    }
    const attempt = (hold: AttemptHold) =>
      next(ctx).then(
        (result) => {
          hold.keep();
          return result;
        },
        (err: unknown) => {
          hold.release();
          throw err;
        },
      );
    return held instanceof Promise ? held.then(attempt, refused) : attempt(held);
  };
}

/** A stream the consumer gave up on (client gone, forward abandoned): says nothing about the target. */
const ABANDONED = Symbol('abandoned');

/** What an attempt's end says about the target: it failed, it answered (even a client's 4xx), or nothing (skip, client gone). */
export function verdict(err: unknown, signal: AbortSignal): 'failure' | 'success' | 'none' {
  if (err === undefined) return 'success';
  if (signal.aborted || err === ABANDONED || err instanceof TargetSkipped) return 'none';
  if (err instanceof UpstreamError) return err.kind === 'client' || err.kind === 'context_length' ? 'success' : 'failure';
  if (err instanceof FlowRouterError && err.status < 500 && err.status !== 429) return 'none';
  return 'failure';
}

/** The verdict for the shared target: a caller's own credential refused or rate-limited says nothing about it. */
function targetVerdict(err: unknown, ctx: AttemptContext): 'failure' | 'success' | 'none' {
  if (isCredentialFailure(err) && usesOwnCredential(ctx.target, ctx.accounts)) return 'none';
  return verdict(err, ctx.signal);
}

function retryAfterOf(err: unknown): number | null {
  return err instanceof UpstreamError ? err.retryAfterMs : null;
}

/**
 * Runs `end` once the call has ended: on rejection, at once for a JSON answer, and for a stream when the request's
 * tap hears its end (completion, failure or abandonment).
 */
async function around<T>(call: Promise<T>, ctx: AttemptContext, end: (err: unknown, tokens?: number) => void): Promise<T> {
  let result: T;
  try {
    result = await call;
  } catch (err) {
    end(err);
    throw err;
  }
  const r = result as { kind?: string; response?: { usage?: { total_tokens?: unknown } | null } };
  if (r.kind === 'stream') {
    ctx.onEnd((e) => end(e.status === 'complete' ? undefined : e.status === 'aborted' ? ABANDONED : e.error, e.usage?.total_tokens));
  } else {
    const total = r.response?.usage?.total_tokens;
    end(undefined, typeof total === 'number' ? total : undefined);
  }
  return result;
}

/** The target's breaker, and a small one per caller credential so a key the upstream keeps refusing fails fast here. */
export function withBreaker(states: TargetStates, now: () => number, refused = new RefusedCredentials()): Interceptor {
  return (next) => (ctx) => {
    const { breaker } = states.get(ctx.target.id);
    const t = now();
    const own = ownCredentialOf(ctx.target, ctx.accounts);
    const known = own && refused.refusal(own, t);
    if (known) return Promise.reject(known);
    if (!breaker.tryPass(t)) return Promise.reject(new TargetSkipped(ctx.target.id, `circuit open (retry in ${Math.ceil(breaker.retryInMs(t))} ms)`));
    return around(next(ctx), ctx, (err) => {
      if (own && isCredentialFailure(err)) refused.failed(own, err, now());
      else if (own && err === undefined) refused.succeeded(own);
      const v = targetVerdict(err, ctx);
      if (v === 'success') breaker.success();
      else if (v === 'failure') breaker.failure(now(), retryAfterOf(err));
      else breaker.release();
    });
  };
}

/** Concurrency, RPM and TPM per target: a full target is skipped so the walk moves on to the next one. */
export function withLimits(states: TargetStates, now: () => number): Interceptor {
  return (next) => (ctx) => {
    const { stats, usage } = states.get(ctx.target.id);
    const t = now();
    const full = limitReached(ctx.target, stats.inFlight, usage, t, ctx.promptTokens);
    if (full) return Promise.reject(new TargetSkipped(ctx.target.id, full));
    const reservation = usage.reserve(t, ctx.target.tpm === undefined ? 0 : ctx.promptTokens());
    return around(next(ctx), ctx, (_err, tokens) => reservation.settle(tokens));
  };
}

/** In-flight count, first-byte latency and outcome per target. */
export function withStats(states: TargetStates): Interceptor {
  return (next) => (ctx) => {
    const { stats } = states.get(ctx.target.id);
    stats.inFlight++;
    const started = performance.now();
    const call = next(ctx).then((result) => {
      const fb = (result as { firstByteMs?: unknown })?.firstByteMs;
      stats.recordLatency(typeof fb === 'number' ? fb : performance.now() - started);
      return result;
    });
    return around(call, ctx, (err) => {
      stats.inFlight--;
      const v = targetVerdict(err, ctx);
      if (v !== 'none') stats.recordOutcome(v === 'success');
    });
  };
}
