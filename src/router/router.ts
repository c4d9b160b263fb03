// Picks a chain once per request, orders its targets by the chain's strategy and walks them through the resilience wrappers until one answers.
import type { ChainConfig, NodeConfig, RouterSettings, TargetConfig } from '../config/index.ts';
import { FlowRouterError, NotFoundError, PermissionError, UpstreamError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { Attempt, Operation, Outcome, RequestContext, RequestOf, Route } from '../pipeline/index.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { PeerDirectory, PriceLookup, SendToTarget, TargetProbe, TargetSupports } from './types.ts';
import { preferModel, selectChain, upstreamModel } from './select.ts';
import { matchRoute } from './rules.ts';
import { orderTargets } from './strategies.ts';
import { TargetStates } from './stats.ts';
import { AttemptRefused, compose, withBreaker, withGate, withLimits, withStats, type AttemptContext } from './interceptors.ts';
import { realSleep, withRetry, type Sleep } from './retry.ts';
import { HealthChecker } from './health.ts';
import { routerStatus, type RouterStatus } from './status.ts';
import type { BreakerSettings } from './breaker.ts';

export interface RouterDeps {
  config: NodeConfig;
  send: SendToTarget;
  /** Which targets can serve embeddings or legacy completions; every target serves chat when absent. */
  supports?: TargetSupports;
  /** The mesh's peers, when this node runs the mesh with forwarding on. */
  peers?: PeerDirectory;
  /** Prices for the `cost` strategy. */
  prices?: PriceLookup;
  logger?: Logger;
  /** Enables active health checks when `router.health_check_interval_ms` is set. */
  probe?: TargetProbe;
  /** Injected for tests: clock (ms) for breakers and limit windows, randomness for weights and jitter, backoff sleep. */
  now?: () => number;
  random?: () => number;
  sleep?: Sleep;
}

/** The name of the chain a request for an unknown model goes to when the mesh may serve it. */
export const MESH_CHAIN = 'mesh';

function reasonOf(err: unknown): { status: number; reason: string; retryAfterMs?: number } {
  if (err instanceof AttemptRefused) return { status: err.refusal.status, reason: err.refusal.message };
  if (err instanceof UpstreamError) return { status: err.upstreamStatus ?? err.status, reason: err.message, retryAfterMs: err.retryAfterMs ?? undefined };
  if (err instanceof FlowRouterError) return { status: err.status, reason: err.message };
  return { status: 500, reason: err instanceof Error ? err.name : 'error' };
}

function breakerSettings(s: RouterSettings): BreakerSettings {
  return {
    failures: s.breakerFailures,
    windowMs: s.breakerWindowMs,
    cooldownMs: s.breakerCooldownMs,
    maxCooldownMs: Math.max(s.maxRetryAfterMs, s.breakerCooldownMs),
  };
}

function allTargets(config: NodeConfig): TargetConfig[] {
  const byId = new Map<string, TargetConfig>();
  for (const c of config.chains.values()) for (const t of c.targets) if (!byId.has(t.id)) byId.set(t.id, t);
  return [...byId.values()];
}

/** The only target of the chain for models no local chain serves, when the mesh may serve them. */
function implicitMeshTarget(config: NodeConfig): TargetConfig {
  return { id: 'mesh', kind: 'mesh', model: '*', weight: 1, timeoutMs: config.mesh.forwardTimeoutMs };
}

export class Router {
  private config: NodeConfig;
  private readonly send: SendToTarget;
  private readonly supports: TargetSupports;
  private readonly peers?: PeerDirectory;
  private readonly prices?: PriceLookup;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly states: TargetStates;
  private readonly rotation = new Map<string, number>();
  private readonly guard: (core: (ctx: AttemptContext) => Promise<Outcome<Operation>>) => (ctx: AttemptContext) => Promise<Outcome<Operation>>;
  private health?: HealthChecker;
  private readonly probe?: TargetProbe;

  constructor(deps: RouterDeps) {
    this.config = deps.config;
    this.send = deps.send;
    this.supports = deps.supports ?? (() => true);
    this.peers = deps.peers;
    this.prices = deps.prices;
    this.log = deps.logger ?? silentLogger;
    this.now = deps.now ?? (() => performance.now());
    this.random = deps.random ?? Math.random;
    this.probe = deps.probe;
    this.states = new TargetStates(breakerSettings(deps.config.router));
    // Outermost first: an open breaker or a full target is skipped before anything else runs, and before any budget is held.
    this.guard = compose([
      withBreaker(this.states, this.now),
      withLimits(this.states, this.now),
      withGate(),
      withStats(this.states),
      withRetry(() => this.config.router, this.random, deps.sleep ?? realSleep),
    ]);
  }

  /** Starts active health checks, if configured. */
  start(): void {
    const interval = this.config.router.healthCheckIntervalMs;
    if (!this.probe || interval <= 0 || this.health) return;
    this.health = new HealthChecker({
      intervalMs: interval,
      targets: () => allTargets(this.config),
      probe: this.probe,
      states: this.states,
      now: this.now,
      log: this.log,
    });
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

  /** Whether a target's breaker is open now (peers' breakers are keyed `peer:<id>`). */
  isOpen(targetId: string): boolean {
    return this.states.peek(targetId)?.breaker.state(this.now()) === 'open';
  }

  status(): RouterStatus {
    return routerStatus(this.config, this.states, this.now());
  }

  /**
   * The chain a request goes to, in the documented order (named chain, route rule, chain serving the model, default),
   * checked against the chains the client may use. A model no chain serves goes to the mesh when it may forward.
   */
  resolve(req: { model: string }, ctx: RequestContext, config: NodeConfig = this.config): Route {
    const chat = req as ChatRequest;
    let rule: string | undefined;
    let picked: { chain: ChainConfig; byModel: boolean };
    try {
      picked = selectChain(config, chat, () => {
        const r = matchRoute(config.routes, chat, ctx, ctx.promptTokens);
        rule = r?.name;
        return r && config.chains.get(r.chain);
      });
    } catch (err) {
      if (!(err instanceof NotFoundError) || !this.peers || ctx.forwardedBy || !config.mesh.forward) throw err;
      picked = { chain: { name: MESH_CHAIN, strategy: 'priority', targets: [implicitMeshTarget(config)], contextFallback: false }, byModel: false };
    }
    const allowed = ctx.allowedChains;
    if (allowed && !allowed.names.includes(picked.chain.name)) {
      throw new PermissionError(
        `The key "${allowed.holder}" may not use the chain "${picked.chain.name}"; allowed: ${allowed.names.join(', ')}`,
        'chain_not_allowed',
      );
    }
    return { ...picked, rule };
  }

  /** The targets this request may try, in order: the chain's strategy, peers placed, unusable kinds removed. */
  private order(op: Operation, req: { model: string }, ctx: RequestContext, route: Route, config: NodeConfig): TargetConfig[] {
    const chat = req as ChatRequest;
    const ordered = orderTargets(route.chain, {
      states: this.states,
      prices: this.prices,
      random: this.random,
      rotation: this.rotation,
      requestedModel: req.model,
      promptTokens: ctx.promptTokens,
      maxOutputTokens: chat.max_completion_tokens ?? chat.max_tokens,
    });
    const order = route.byModel ? preferModel(ordered, req.model) : ordered;
    // A forward is answered by this node's models only: never forwarded again, never by its knowledge answerer.
    if (ctx.forwardedBy) return order.filter((t) => t.kind === 'provider' && this.supports(t, op));
    const meshOn = this.peers !== undefined && config.mesh.forward;
    return order.filter((t) => (t.kind === 'mesh' ? meshOn && op === 'chat' : this.supports(t, op)));
  }

  /** Tries the request's chain until a target answers; every try is recorded in `ctx.trace.attempts`. */
  async route<O extends Operation>(op: O, req: RequestOf<O>, ctx: RequestContext): Promise<Outcome<O>> {
    const config = this.config;
    const route = (ctx.trace.route ??= this.resolve(req, ctx, config));
    const chain = route.chain;
    const order = this.order(op, req, ctx, route, config);
    const guarded = this.guard((a) =>
      this.send(
        a.target,
        op,
        { ...req, model: a.model },
        {
          signal: a.signal,
          requestId: a.requestId,
          accounts: ctx.accounts,
          client: ctx.client,
          inbound: ctx.inbound,
        },
      ),
    );
    const attempts = ctx.trace.attempts;
    const refusals: FlowRouterError[] = [];
    const log = (a: Attempt) => this.log.debug({ requestId: ctx.requestId, chain: chain.name, rule: route.rule, ...a }, 'router attempt');
    // After a context-length failure, only targets with a larger window than this are worth trying.
    let needWindow = 0;
    const triedPeers = new Set<string>();
    for (let i = 0; i < order.length; i++) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const target = order[i];
      if (target.peerId) {
        // A chain may name the mesh twice: each peer is asked once per request.
        if (triedPeers.has(target.peerId)) continue;
        triedPeers.add(target.peerId);
      }
      if (target.kind === 'mesh' && !target.peerId) {
        const started = performance.now();
        const model = upstreamModel(target, req.model);
        // Peers serving the model; for a request that reached its chain by name or as the default, peers running that chain.
        const names = route.byModel || target.model !== '*' || chain.name === MESH_CHAIN || chain.name === model ? [model] : [model, chain.name];
        const peers = await this.peers!.candidates(names, target, ctx.signal);
        if (peers.length === 0) {
          const a: Attempt = {
            target: 'mesh',
            status: 502,
            reason: `no mesh peer serves ${names.map((n) => `"${n.slice(0, 100)}"`).join(' or ')}`,
            ms: Math.round(performance.now() - started),
          };
          attempts.push(a);
          log(a);
        }
        order.splice(i + 1, 0, ...peers);
        continue;
      }
      if (needWindow && !((target.contextWindow ?? 0) > needWindow)) continue;
      const a: AttemptContext = {
        target,
        model: upstreamModel(target, req.model),
        signal: ctx.signal,
        requestId: ctx.requestId,
        gate: ctx.gate,
        accounts: ctx.accounts,
        onEnd: (l) => ctx.tap.onEnd(l),
        promptTokens: ctx.promptTokens,
        retries: chain.retries ?? config.router.retries,
        tries: 0,
      };
      const started = performance.now();
      try {
        const result = (await guarded(a)) as Outcome<O>;
        const done: Attempt = {
          target: target.id,
          status: 200,
          reason: 'ok',
          ms: Math.round(performance.now() - started),
          ...(a.tries > 1 ? { tries: a.tries } : {}),
        };
        attempts.push(done);
        log(done);
        ctx.trace.target = target.id;
        ctx.trace.model = a.model;
        return result;
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
        const failed: Attempt = {
          target: target.id,
          ...reasonOf(err),
          ms: Math.round(performance.now() - started),
          ...(a.tries > 1 ? { tries: a.tries } : {}),
        };
        attempts.push(failed);
        log(failed);
        if (err instanceof AttemptRefused) {
          refusals.push(err.refusal);
          continue;
        }
        if (err instanceof UpstreamError && err.kind === 'context_length') {
          const window = Math.max(needWindow, target.contextWindow ?? 0);
          if (!chain.contextFallback || !target.contextWindow || !order.slice(i + 1).some((t) => (t.contextWindow ?? 0) > window)) throw err;
          needWindow = window;
          continue;
        }
        if (!fallsThrough(err)) throw err;
      }
    }
    if (attempts.length === 0) {
      throw new FlowRouterError(400, 'invalid_request_error', 'unsupported_operation', `No target of chain "${chain.name}" supports this operation`);
    }
    // Refused by the client's own budget everywhere: that refusal is the answer, not an upstream failure.
    if (refusals.length === attempts.length) throw refusals[0];
    throw allFailed(chain.name, attempts);
  }

  /** A chat request through its chain (the shadow sampler's judge, tests). */
  chat(req: ChatRequest, ctx: RequestContext): Promise<Outcome<'chat'>> {
    return this.route('chat', req, ctx);
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
  const headers: Record<string, string> = {};
  if (allRateLimited && waits.length) headers['retry-after'] = String(Math.max(1, Math.ceil(Math.min(...waits) / 1000)));
  return new FlowRouterError(
    status,
    allRateLimited ? 'rate_limit_error' : 'api_error',
    allRateLimited ? 'rate_limit_exceeded' : 'all_targets_failed',
    `All targets of chain "${chain}" failed: ${list}`,
    { headers, details: { attempts: attempts.map(({ retryAfterMs: _r, ...a }) => a) } },
  );
}
