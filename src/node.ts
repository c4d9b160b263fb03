// Wires one Flow Router node: config → database → providers → router → gateway, with one start() and one stop().
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { servedModels, watchConfig, type ConfigWatcher, type NodeConfig, type TargetConfig } from './config/index.ts';
import type { ChatRequest, EmbeddingsRequest, EmbeddingsResponse } from './core/openai.ts';
import { NotFoundError, UpstreamError } from './core/errors.ts';
import { openDatabase, type Db } from './core/database.ts';
import { closeTransport, providers, sendChat, sendJson, sendRawStream, type ChatResult, type Provider } from './providers/index.ts';
import { openaiHeaders } from './providers/openai/index.ts';
import { Router, routerRoutes, type RequestMeta, type Routed, type SendContext } from './router/index.ts';
import { buildGateway, type ChatService, type GatewayServices, type ModelEntry } from './gateway/index.ts';
import { PriceTable, ShadowSampler, UsageLedger, registerUsageRoutes, usageLayer } from './usage/index.ts';
import { CacheStore, cacheLayer, normalizeLayer } from './cache/index.ts';
import { Tenancy, accountFor, adminRoutes, exposureWarnings, operatorGuard } from './tenancy/index.ts';
import { KnowledgeStore, answerFromKnowledge, knowledgeRoutes, ragLayer } from './knowledge/index.ts';
import { createMetrics, gracefulShutdown, metricsObserver, observeChat, opsRoutes, requestLogObserver, summaryFromMetrics, type Metrics } from './ops/index.ts';
import { nodeIdentity, type NodeIdentity } from './node-identity.ts';
// The libp2p stack (~0.5 s and tens of MB to load) is imported only when the config enables the mesh, in small pieces.
import type { MeshLink } from './node-mesh.ts';
import { loadMeshLink } from './node-mesh-load.ts';
import type { Replicator } from './mesh/index.ts';
import { meshRoutes } from './mesh/routes.ts';
import { VERSION } from './version.ts';

/** A step on the chat path that wraps the next one (metrics/log → tenancy → usage → rag → cache → normalize → router). */
export type ChatLayer = (next: ChatService) => ChatService;

export interface NodeOptions {
  /** Logger settings for fastify (false in tests). */
  logger?: FastifyServerOptions['logger'];
  /** Where start-up warnings go (stderr by default). */
  warn?: (message: string) => void;
}

function providerOf(target: TargetConfig): Provider {
  const p = target.account && providers[target.account.type];
  if (!p) throw new UpstreamError('client', `target ${target.id}: provider ${target.account?.type ?? target.kind} is not available`, { status: 500 });
  return p;
}

function idAndTime(requestId: string) {
  return { id: `chatcmpl-${requestId.replaceAll('-', '').slice(0, 24)}`, created: Math.floor(Date.now() / 1000) };
}

/** OpenAI SDKs ask for base64 by default; providers that only return floats are encoded here. */
function withEncoding(res: EmbeddingsResponse, format: EmbeddingsRequest['encoding_format']): EmbeddingsResponse {
  if (format !== 'base64') return res;
  const data = res.data.map((d) => typeof d.embedding === 'string' ? d
    : { ...d, embedding: Buffer.from(new Float32Array(d.embedding).buffer).toString('base64') });
  return { ...res, data };
}

function routeHeaders(r: { chain: string; target: string; attempts: unknown[] }): Record<string, string> {
  return { 'x-flowrouter-chain': r.chain, 'x-flowrouter-target': r.target, 'x-flowrouter-attempts': String(r.attempts.length) };
}

export class FlowRouterNode {
  readonly config: NodeConfig;
  readonly db: Db;
  readonly router: Router;
  readonly app: FastifyInstance;
  readonly prices: PriceTable;
  readonly tenancy: Tenancy;
  readonly cache: CacheStore;
  readonly usage: UsageLedger;
  readonly shadow: ShadowSampler;
  readonly metrics: Metrics;
  /** Opened in start(): its origin id is the node's identity, which is loaded asynchronously. */
  knowledge?: KnowledgeStore;
  /** The node's stable id (its mesh peer id), known once started. */
  nodeId?: string;
  /** Present, once started, when the config enables the mesh. */
  meshLink?: MeshLink;
  /** Knowledge (and optionally cache) replication, once the mesh has started. */
  replicator?: Replicator;
  private readonly warn: (message: string) => void;
  private identity?: NodeIdentity;
  private meshRunning = false;
  private started = false;
  private configWatcher?: ConfigWatcher;

  constructor(config: NodeConfig, opts: NodeOptions = {}) {
    this.config = config;
    this.warn = opts.warn ?? ((message) => process.stderr.write(`${message}\n`));
    this.db = openDatabase(join(config.server.dataDir, 'flowrouter.db'));
    this.prices = new PriceTable(config.raw.prices);
    this.metrics = createMetrics();
    const current = () => this.router.currentConfig;
    this.tenancy = new Tenancy({ db: this.db, config: current, prices: this.prices });
    this.cache = new CacheStore(this.db, config.cache);
    this.usage = new UsageLedger(this.db, {
      flushMs: config.usage.flushMs, journal: config.usage.write === 'ack' ? join(config.server.dataDir, 'usage.journal') : undefined, retentionDays: config.usage.retentionDays,
    });
    this.app = buildGateway(this.services(), { bodyLimitBytes: config.server.bodyLimitBytes, logger: opts.logger ?? false });
    const forwarding = config.mesh.enabled && config.mesh.forward;
    this.router = new Router({
      config, prices: this.prices, logger: this.app.log.child({ component: 'router' }),
      send: (target, req, ctx) => this.sendToTarget(target, req, ctx), probe: (target, signal) => this.probeTarget(target, signal),
      peerFallback: forwarding ? (req, meta) => this.meshLink!.fallback(req, meta) : undefined,
    });
    this.shadow = new ShadowSampler({ db: this.db, prices: this.prices, config: current,
      send: (target, req, ctx) => this.sendToTarget(target, req, ctx), chat: (req, meta) => this.router.chat(req, meta) });
    this.metrics.setSources({
      breakers: () => this.router.status().targets.map((t) => ({ target: t.id, state: t.breaker.state })),
      kb: () => { const s = this.knowledge?.stats(); return { documents: s?.documents ?? 0, chunks: s?.chunks ?? 0 }; },
      mesh: () => {
        const m = this.meshLink?.mesh;
        if (!m || !this.meshRunning) return { peers: 0 };
        const lags = this.replicator?.status().peers.map((p) => p.secondsSinceSync ?? 0) ?? [];
        return { peers: m.status().peers.healthy, lagSeconds: lags.length ? Math.max(...lags) : undefined, peerList: m.peers().map((p) => ({ id: p.peerId, models: p.capacity?.models, capacity: p.capacity?.freeConcurrency, address: p.addresses[0] })) };
      },
    });
    this.registerRoutes();
  }

  private registerRoutes(): void {
    const current = () => this.router.currentConfig;
    const guard = operatorGuard(current);
    this.app.register(adminRoutes(this.tenancy, current), { prefix: '/admin' });
    this.app.register(async (scope) => {
      scope.addHook('onRequest', async (request) => guard(request));
      await scope.register(routerRoutes, { router: this.router });
    });
    registerUsageRoutes(this.app, { db: this.db, flush: () => this.usage.flush(), guard });
    // Registered now, loaded at listen(): by then start() has opened the store.
    this.app.register(knowledgeRoutes, () => ({ store: this.knowledge!, guard }));
    if (this.config.mesh.enabled) {
      this.app.register(async (scope) => {
        scope.addHook('onRequest', async (request) => guard(request));
        await scope.register(meshRoutes, { mesh: () => (this.meshRunning ? this.meshLink?.mesh : undefined), replication: () => this.replicator?.status() ?? null });
      });
    } else {
      this.app.get('/v1/mesh/*', async () => { throw new NotFoundError('The mesh is not enabled on this node (add a mesh: section to the config)', 'mesh_disabled'); });
    }
    this.app.register(opsRoutes, {
      metrics: this.metrics,
      guard,
      summary: () => summaryFromMetrics(this.metrics, { targets: () => this.router.status().targets.map((t) => t.id) }),
    });
  }

  /** Health check for OpenAI-compatible accounts: GET /models. Other kinds have none. */
  private async probeTarget(target: TargetConfig, signal: AbortSignal): Promise<boolean> {
    const account = target.account;
    if (target.kind !== 'provider' || !account || (account.type !== 'openai' && account.type !== 'local')) return false;
    await sendJson(providerOf(target), account, { method: 'GET', path: '/models', headers: openaiHeaders(account) }, signal);
    return true;
  }

  /** Reloads routing when the config file changes or on SIGHUP; an invalid file is logged and the running config kept. */
  private watchConfigFile(): void {
    const { source, server } = this.config;
    if (!existsSync(source)) return;
    const log = this.app.log.child({ component: 'config' });
    this.configWatcher = watchConfig({
      file: source, overrides: { host: server.host, port: server.port, dataDir: server.dataDir },
      onConfig: (config) => { this.router.reload(config); log.info({ file: source }, 'config reloaded'); },
      onError: (err) => log.error({ file: source, err: { message: err instanceof Error ? err.message : String(err) } }, 'config reload rejected; keeping the running config'),
    });
    this.configWatcher.start();
  }

  /** The one "send to target" seam: a provider account behind the shared transport, or the knowledge base. */
  private async sendToTarget(target: TargetConfig, req: ChatRequest, ctx: SendContext): Promise<ChatResult> {
    const tctx = { model: req.model, ...idAndTime(ctx.requestId) };
    if (target.kind === 'knowledge') {
      if (!this.knowledge) throw new UpstreamError('server', `target ${target.id}: the knowledge base is not open`);
      return answerFromKnowledge(this.knowledge, req, target.collection, tctx).result;
    }
    if (!target.account) throw new UpstreamError('server', `target ${target.id}: no provider account`);
    return sendChat(providerOf(target), accountFor(target.account, ctx.accounts), req, tctx, ctx.signal);
  }

  /**
   * The chat path, outermost layer first. Requests forwarded by a peer skip metrics, logging and tenancy (membership
   * is a peer's credential) but are recorded in usage with the original client's id.
   */
  private chatService(forwarded = false): ChatService {
    const routerService: ChatService = async (req: ChatRequest, meta: RequestMeta) => {
      let routed: Routed;
      try {
        routed = await this.router.chat(req, meta);
      } catch (err) {
        // A model no local chain serves may still be served by a peer.
        const forwarding = this.meshLink && this.router.currentConfig.mesh.forward && !meta.forwarded;
        if (!(forwarding && err instanceof NotFoundError && err.code === 'model_not_found')) throw err;
        const { peerId, result } = await this.meshLink!.fallback(req, meta);
        return { result, headers: routeHeaders({ chain: 'mesh', target: `peer:${peerId}`, attempts: [1] }) };
      }
      return { result: routed.result, headers: routeHeaders(routed) };
    };
    const config = () => this.router.currentConfig;
    const edge: ChatLayer[] = forwarded ? [] : [
      observeChat(
        metricsObserver(this.metrics, (model, usage) => this.prices.costOf(model, usage)),
        requestLogObserver({ info: (o, m) => this.app.log.info(o, m), warn: (o, m) => this.app.log.warn(o, m) }),
      ),
      this.tenancy.chatLayer,
    ];
    const layers: ChatLayer[] = [
      ...edge,
      usageLayer({ ledger: this.usage, prices: this.prices, config, onAnswer: (req, meta, row, answer) => this.shadow.observe(req, meta, row, answer) }),
      ragLayer({ store: () => this.knowledge, chainFor: (req, meta) => this.router.chainFor(req, meta).chain }),
      cacheLayer({ store: this.cache, config, chainFor: (req, meta) => this.router.chainFor(req, meta).chain }),
      normalizeLayer(() => config().normalize.enabled),
    ];
    return layers.reduceRight((next, layer) => layer(next), routerService);
  }

  private services(): GatewayServices {
    return {
      chat: this.chatService(),
      authenticate: this.tenancy.authenticate,
      embeddings: this.tenancy.guard(async (req, meta) => {
        const routed = await this.router.walk(req, meta, async (target, model) => {
          const p = providerOf(target);
          if (!p.embeddings || !target.account) throw new UpstreamError('server', `${target.id} has no embeddings`);
          const ctx = { model, ...idAndTime(meta.requestId) };
          const account = accountFor(target.account, meta.accounts);
          const { body } = await sendJson(p, account, p.embeddings.request({ ...req, model }, ctx, account), meta.signal);
          return withEncoding(p.embeddings.response(body, ctx), req.encoding_format);
        }, undefined, (t) => t.kind === 'provider' && !!providers[t.account!.type]?.embeddings);
        return { body: routed.result, headers: routeHeaders(routed) };
      }),
      completions: this.tenancy.guard(async (req, meta) => {
        const routed = await this.router.walk(req, meta, async (target, model) => {
          const p = providerOf(target);
          if (!p.completions || !target.account) throw new UpstreamError('server', `${target.id} has no legacy completions`);
          const account = accountFor(target.account, meta.accounts);
          const spec = p.completions.request({ ...req, model }, { model, ...idAndTime(meta.requestId) }, account);
          if (req.stream) return { kind: 'stream' as const, body: await sendRawStream(p, account, spec, meta.signal) };
          return { kind: 'json' as const, body: (await sendJson(p, account, spec, meta.signal)).body };
        }, undefined, (t) => t.kind === 'provider' && !!providers[t.account!.type]?.completions);
        return { ...routed.result, headers: routeHeaders(routed) };
      }),
      models: () => this.models(),
      ready: () => ({ ready: this.started && this.router.available() }),
    };
  }

  private models(): ModelEntry[] {
    return servedModels(this.router.currentConfig).map((id) => ({ id, object: 'model', created: 0, owned_by: 'flowrouter' }));
  }

  /** Opens the knowledge base under the node's identity, listens, then joins the mesh (never delaying readiness). */
  async start(): Promise<{ host: string; port: number; url: string; mesh?: { peerId: string; multiaddrs: string[] } }> {
    const identity = await nodeIdentity(this.config.server.dataDir);
    this.identity = identity;
    this.nodeId = identity.peerId;
    this.knowledge = new KnowledgeStore(this.db, identity.peerId);
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    this.started = true;
    this.router.start();
    this.watchConfigFile();
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.server.port;
    const host = this.config.server.host;
    for (const warning of exposureWarnings(host, this.router.currentConfig.auth)) {
      this.app.log.warn(warning);
      this.warn(warning);
    }
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (!this.config.mesh.enabled) return { host, port, url };
    try {
      // After listen: the gateway is ready before the libp2p stack has even loaded.
      await this.createMeshLink();
      await this.meshLink!.start();
      this.meshRunning = true;
      await this.startReplication();
      const status = this.meshLink!.mesh.status();
      return { host, port, url, mesh: { peerId: status.peerId, multiaddrs: status.multiaddrs } };
    } catch (err) {
      // The gateway keeps serving without the mesh; the operator is told why.
      const message = `mesh did not start: ${err instanceof Error ? err.message : String(err)}`;
      this.app.log.error(message);
      this.warn(`flowrouter: ${message}`);
      return { host, port, url };
    }
  }

  private async createMeshLink(): Promise<void> {
    const MeshLink = await loadMeshLink();
    const log = this.app.log.child({ component: 'mesh' });
    this.meshLink = new MeshLink({
      config: () => this.router.currentConfig, dataDir: this.config.server.dataDir, version: VERSION,
      routerStatus: () => this.router.status(),
      forwardedChat: this.chatService(true),
      onForward: (direction) => this.metrics.meshForwards.inc({ direction }),
      log: (event, detail) => log.info(detail ?? {}, event),
    });
  }

  /** Gossip and anti-entropy for the knowledge base (and the cache when configured) over the running mesh. */
  private async startReplication(): Promise<void> {
    const m = this.config.mesh;
    if (!this.meshLink || !m.replicateKnowledge || !this.knowledge || !this.identity) return;
    const log = this.app.log.child({ component: 'replication' });
    const { createReplicator } = await import('./mesh/replication/index.ts');
    this.replicator = createReplicator({
      mesh: this.meshLink.mesh,
      privateKey: await this.identity.privateKey(),
      store: this.knowledge,
      cache: m.replicateCache ? this.cache : null,
      options: { syncIntervalMs: m.syncIntervalMs, tombstoneHorizonMs: m.tombstoneHorizonMs, replicateCache: m.replicateCache },
      log: (event, detail) => (/rejected|skew|failed/.test(event) ? log.warn(detail ?? {}, event) : log.debug(detail ?? {}, event)),
    });
    await this.replicator.start();
  }

  /** Stops accepting, lets in-flight requests and streams finish up to the grace period, then closes everything in order. */
  async stop(): Promise<void> {
    this.started = false;
    this.configWatcher?.stop();
    await gracefulShutdown({
      app: this.app,
      graceMs: this.config.server.shutdownGraceMs,
      log: this.app.log,
      stopFns: [
        { name: 'router', stop: () => this.router.stop() },
        { name: 'shadow', stop: () => this.shadow.stop() },
        { name: 'replication', stop: () => this.replicator?.stop() },
        { name: 'mesh', stop: () => { this.meshRunning = false; return this.meshLink?.stop(); } },
        { name: 'transport', stop: () => closeTransport() },
        { name: 'usage ledger', stop: () => this.usage.stop() },
        { name: 'cache', stop: () => this.cache.persistRecency() },
        { name: 'metrics', stop: () => this.metrics.stop() },
        { name: 'database', stop: () => { if (this.db.open) this.db.close(); } },
      ],
    });
  }
}
