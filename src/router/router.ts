// Walks a chain's targets in order until one answers; a client's own 4xx returns at once, everything else falls through.
import type { ChatRequest } from '../core/openai.ts';
import type { NodeConfig, TargetConfig } from '../config/index.ts';
import { FlowRouterError, UpstreamError } from '../core/errors.ts';
import type { Attempt, PeerFallback, RequestMeta, Routed, RoutedCall, SendToTarget } from './types.ts';
import { preferModel, selectChain, upstreamModel } from './select.ts';

export interface RouterDeps {
  config: NodeConfig;
  send: SendToTarget;
  peerFallback?: PeerFallback;
}

function reasonOf(err: unknown): { status: number; reason: string; retryAfterMs?: number } {
  if (err instanceof UpstreamError) return { status: err.upstreamStatus ?? err.status, reason: err.message, retryAfterMs: err.retryAfterMs ?? undefined };
  if (err instanceof FlowRouterError) return { status: err.status, reason: err.message };
  return { status: 500, reason: err instanceof Error ? err.name : 'error' };
}

export class Router {
  private config: NodeConfig;
  private readonly send: SendToTarget;
  private readonly peerFallback?: PeerFallback;

  constructor(deps: RouterDeps) {
    this.config = deps.config;
    this.send = deps.send;
    this.peerFallback = deps.peerFallback;
  }

  /** Swaps the config atomically; requests in flight keep the one they started with. */
  reload(config: NodeConfig): void {
    this.config = config;
  }

  get currentConfig(): NodeConfig {
    return this.config;
  }

  async chat(req: ChatRequest, meta: RequestMeta): Promise<Routed> {
    return this.walk(req, meta, (target, model) => this.send(target, { ...req, model }, { signal: meta.signal, requestId: meta.requestId, accounts: meta.accounts }),
      this.peerFallback && !meta.forwarded ? () => this.peerFallback!(req, meta) : undefined);
  }

  /** Tries a chain's targets for any kind of call (chat, embeddings, legacy completions). */
  async walk<T>(req: { model: string }, meta: RequestMeta, call: (target: TargetConfig, model: string) => Promise<T>,
    lastResort?: () => Promise<{ peerId: string; result: T }>, usable: (t: TargetConfig) => boolean = () => true): Promise<RoutedCall<T>> {
    const config = this.config;
    const { chain, byModel } = selectChain(config, req as ChatRequest);
    const order = (byModel ? preferModel(chain.targets, req.model) : chain.targets).filter(usable);
    const attempts: Attempt[] = [];
    for (const target of order) {
      if (meta.signal.aborted) throw meta.signal.reason;
      const model = upstreamModel(target, req.model);
      const started = performance.now();
      try {
        const result = await call(target, model);
        attempts.push({ target: target.id, status: 200, reason: 'ok', ms: Math.round(performance.now() - started) });
        return { result, chain: chain.name, target: target.id, model, attempts };
      } catch (err) {
        if (meta.signal.aborted) throw err;
        attempts.push({ target: target.id, ...reasonOf(err), ms: Math.round(performance.now() - started) });
        if (!fallsThrough(err)) throw err;
      }
    }
    if (lastResort) {
      const started = performance.now();
      try {
        const { peerId, result } = await lastResort();
        attempts.push({ target: `peer:${peerId}`, status: 200, reason: 'ok', ms: Math.round(performance.now() - started) });
        return { result, chain: chain.name, target: `peer:${peerId}`, model: req.model, attempts };
      } catch (err) {
        if (meta.signal.aborted) throw err;
        attempts.push({ target: 'mesh', ...reasonOf(err), ms: Math.round(performance.now() - started) });
        if (!fallsThrough(err)) throw err;
      }
    }
    if (order.length === 0 && !lastResort) {
      throw new FlowRouterError(400, 'invalid_request_error', 'unsupported_operation', `No target of chain "${chain.name}" supports this operation`);
    }
    throw allFailed(chain.name, attempts);
  }
}

/** A client's own mistake (any non-upstream 4xx but 429, or an upstream error classified as the client's) stops the walk. */
function fallsThrough(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.fallsThrough;
  if (err instanceof FlowRouterError) return err.status >= 500 || err.status === 429;
  return true;
}

/** "Return an error only if all fail": one error naming every attempt (targets are names, never keys). */
export function allFailed(chain: string, attempts: Attempt[]): FlowRouterError {
  const allRateLimited = attempts.length > 0 && attempts.every((a) => a.status === 429);
  const status = allRateLimited ? 429 : attempts.some((a) => a.status === 504) && attempts.every((a) => a.status === 504) ? 504 : 502;
  const list = attempts.map((a) => `${a.target} → ${a.status} ${a.reason}`).join('; ');
  const waits = attempts.map((a) => a.retryAfterMs).filter((ms): ms is number => ms !== undefined);
  const headers: Record<string, string> = allRateLimited && waits.length ? { 'retry-after': String(Math.max(1, Math.ceil(Math.min(...waits) / 1000))) } : {};
  return new FlowRouterError(status, allRateLimited ? 'rate_limit_error' : 'api_error', allRateLimited ? 'rate_limit_exceeded' : 'all_targets_failed',
    `All targets of chain "${chain}" failed: ${list}`, { headers, details: { attempts: attempts.map(({ retryAfterMs: _r, ...a }) => a) } });
}
