// Picks a chain, orders its targets by the chain's strategy and walks them through the resilience wrappers until one answers.
import type { ChatRequest } from '../core/openai.ts';
import type { ChainConfig, NodeConfig, RouterSettings, TargetConfig } from '../config/index.ts';
import { FlowRouterError, PermissionError, UpstreamError } from '../core/errors.ts';
import type { Attempt, PeerFallback, PriceLookup, RequestMeta, Routed, RoutedCall, RouterLogger, SendToTarget, TargetProbe } from './types.ts';
import { preferModel, selectChain, upstreamModel } from './select.ts';
import { matchRoute } from './rules.ts';
import { promptTokens } from './tokens.ts';
import { orderTargets } from './strategies.ts';
import { TargetStates } from './stats.ts';
import { compose, withBreaker, withLimits, withStats, type AttemptContext, type TargetCall } from './interceptors.ts';
import { realSleep, withRetry, type Sleep } from './retry.ts';
import { HealthChecker } from './health.ts';
import { routerStatus, type RouterStatus } from './status.ts';
import type { BreakerSettings } from './breaker.ts';

export interface RouterDeps {
  config: NodeConfig;
  send: SendToTarget;
  peerFallback?: PeerFallback;
  /** Prices for the `cost` strategy. */
  prices?: PriceLookup;
  logger?: RouterLogger;
  /** Enables active health checks when `router.health_check_interval_ms` is set. */
  probe?: TargetProbe;
  /** Injected for tests: clock (ms) for breakers and limit windows, randomness for weights and jitter, backoff sleep. */
  now?: () => number;
  random?: () => number;
  sleep?: Sleep;
}

const silent: RouterLogger = { debug() {}, info() {}, warn() {} };

function reasonOf(err: unknown): { status: number; reason: string; retryAfterMs?: number } {
  if (err instanceof UpstreamError) return { status: err.upstreamStatus ?? err.status, reason: err.message, retryAfterMs: err.retryAfterMs ?? undefined };
  if (err instanceof FlowRouterError) return { status: err.status, reason: err.message };
  return { status: 500, reason: err instanceof Error ? err.name : 'error' };
}

function breakerSettings(s: RouterSettings): BreakerSettings {
  return { failures: s.breakerFailures, windowMs: s.breakerWindowMs, cooldownMs: s.breakerCooldownMs, maxCooldownMs: Math.max(s.maxRetryAfterMs, s.breakerCooldownMs) };
}

function allTargets(config: NodeConfig): TargetConfig[] {
  const byId = new Map<string, TargetConfig>();
  for (const c of config.chains.values()) for (const t of c.targets) if (!byId.has(t.id)) byId.set(t.id, t);
  return [...byId.values()];
}

export class Router {
  private config: NodeConfig;
  private readonly send: SendToTarget;
  private readonly peerFallback?: PeerFallback;
  private readonly prices?: PriceLookup;
  private readonly log: RouterLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly states: TargetStates;
  private readonly rotation = new Map<string, number>();
  private readonly guard: <T>(core: TargetCall<T>) => TargetCall<T>;
  private health?: HealthChecker;
  private readonly probe?: TargetProbe;

  constructor(deps: RouterDeps) {
    this.config = deps.config;
    this.send = deps.send;
    this.peerFallback = deps.peerFallback;
    this.prices = deps.prices;
    this.log = deps.logger ?? silent;
    this.now = deps.now ?? (() => performance.now());
    this.random = deps.random ?? Math.random;
    this.probe = deps.probe;
    this.states = new TargetStates(breakerSettings(deps.config.router));
    // Outermost first: an open breaker or a full target is skipped before anything else runs.
    this.guard = compose([
      withBreaker(this.states, this.now),
      withLimits(this.states, this.now),
      withStats(this.states),
      withRetry(() => this.config.router, this.random, deps.sleep ?? realSleep),
    ]);
  }

  /** Starts active health checks, if configured. */
  start(): void {
    const interval = this.config.router.healthCheckIntervalMs;
    if (!this.probe || interval <= 0 || this.health) return;
    this.health = new HealthChecker({ intervalMs: interval, targets: () => allTargets(this.config), probe: this.probe, states: this.states, now: this.now, log: this.log });
    this.health.start();
  }

  async stop(): Promise<void> {
    await this.health?.stop();
    this.health = undefined;
  }

  /**
   * Swaps the config atomically: requests in flight keep the one they started with; targets whose id is unchanged
   * keep their breaker, latency and limit state.
   */
  reload(config: NodeConfig): void {
    const restartHealth = config.router.healthCheckIntervalMs !== this.config.router.healthCheckIntervalMs;
    this.states.retain(new Set(allTargets(config).map((t) => t.id)), breakerSettings(config.router));
    this.config = config;
    if (restartHealth && this.health) void this.stop().then(() => this.start());
    else if (restartHealth) this.start();
  }

  get currentConfig(): NodeConfig {
    return this.config;
  }

  /** True while at least one target's breaker is not open. */
  available(): boolean {
    const now = this.now();
    return allTargets(this.config).some((t) => this.states.peek(t.id)?.breaker.state(now) !== 'open');
  }

  status(): RouterStatus {
    return routerStatus(this.config, this.states, this.now());
  }

  async chat(req: ChatRequest, meta: RequestMeta): Promise<Routed> {
    return this.walk(req, meta, (target, model) => this.send(target, { ...req, model }, { signal: meta.signal, requestId: meta.requestId, accounts: meta.accounts }),
      this.peerFallback && !meta.forwarded ? () => this.peerFallback!(req, meta) : undefined);
  }

  /** The chain a request goes to (documented order: named chain, route rule, chain serving the model, default). */
  chainFor(req: { model: string }, meta: RequestMeta, config: NodeConfig = this.config): { chain: ChainConfig; byModel: boolean; rule?: string } {
    const chat = req as ChatRequest;
    let rule: string | undefined;
    const picked = selectChain(config, chat, () => {
      const r = matchRoute(config.routes, chat, meta, () => promptTokens(req));
      rule = r?.name;
      return r && config.chains.get(r.chain);
    });
    return { ...picked, rule };
  }

  /** Tries a chain's targets for any kind of call (chat, embeddings, legacy completions). */
  async walk<T>(req: { model: string }, meta: RequestMeta, call: (target: TargetConfig, model: string) => Promise<T>,
    lastResort?: () => Promise<{ peerId: string; result: T }>, usable: (t: TargetConfig) => boolean = () => true): Promise<RoutedCall<T>> {
    const config = this.config;
    const tokens = () => promptTokens(req);
    const chat = req as ChatRequest;
    const { chain, byModel, rule } = this.chainFor(req, meta, config);
    if (meta.allowedChains && !meta.allowedChains.names.includes(chain.name)) {
      throw new PermissionError(`The key "${meta.allowedChains.holder}" may not use the chain "${chain.name}"; allowed: ${meta.allowedChains.names.join(', ')}`, 'chain_not_allowed');
    }
    const ordered = orderTargets(chain, {
      states: this.states, prices: this.prices, random: this.random, rotation: this.rotation, requestedModel: req.model,
      promptTokens: tokens, maxOutputTokens: chat.max_completion_tokens ?? chat.max_tokens,
    });
    const order = (byModel ? preferModel(ordered, req.model) : ordered).filter(usable);
    const guarded = this.guard((ctx: AttemptContext) => call(ctx.target, ctx.model));
    const attempts: Attempt[] = [];
    const log = (a: Attempt) => this.log.debug({ requestId: meta.requestId, chain: chain.name, rule, ...a }, 'router attempt');
    // After a context-length failure, only targets with a larger window than this are worth trying.
    let needWindow = 0;
    for (const [i, target] of order.entries()) {
      if (meta.signal.aborted) throw meta.signal.reason;
      if (needWindow && !((target.contextWindow ?? 0) > needWindow)) continue;
      const ctx: AttemptContext = {
        target, model: upstreamModel(target, req.model), signal: meta.signal, requestId: meta.requestId,
        promptTokens: tokens, retries: chain.retries ?? config.router.retries, tries: 0, accounts: meta.accounts,
      };
      const started = performance.now();
      try {
        const result = await guarded(ctx);
        const a: Attempt = { target: target.id, status: 200, reason: 'ok', ms: Math.round(performance.now() - started), ...(ctx.tries > 1 ? { tries: ctx.tries } : {}) };
        attempts.push(a);
        log(a);
        return { result, chain: chain.name, target: target.id, model: ctx.model, attempts };
      } catch (err) {
        if (meta.signal.aborted) throw meta.signal.reason ?? err;
        const a: Attempt = { target: target.id, ...reasonOf(err), ms: Math.round(performance.now() - started), ...(ctx.tries > 1 ? { tries: ctx.tries } : {}) };
        attempts.push(a);
        log(a);
        if (err instanceof UpstreamError && err.kind === 'context_length') {
          const window = Math.max(needWindow, target.contextWindow ?? 0);
          if (!chain.contextFallback || !target.contextWindow || !order.slice(i + 1).some((t) => (t.contextWindow ?? 0) > window)) throw err;
          needWindow = window;
          continue;
        }
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
  const headers: Record<string, string> = { 'x-flowrouter-chain': chain, 'x-flowrouter-attempts': String(attempts.length) };
  if (allRateLimited && waits.length) headers['retry-after'] = String(Math.max(1, Math.ceil(Math.min(...waits) / 1000)));
  return new FlowRouterError(status, allRateLimited ? 'rate_limit_error' : 'api_error', allRateLimited ? 'rate_limit_exceeded' : 'all_targets_failed',
    `All targets of chain "${chain}" failed: ${list}`, { headers, details: { attempts: attempts.map(({ retryAfterMs: _r, ...a }) => a) } });
}
