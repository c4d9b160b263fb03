// Wires one Flow Router node: components built with their dependencies, started and stopped in order. No request logic lives here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { servedModels, watchConfig, type ConfigWatcher, type NodeConfig } from '../config/index.ts';
import { NotFoundError } from '../core/errors.ts';
import { openDatabase, type Db } from '../core/database.ts';
import { Transport } from '../providers/index.ts';
import { Router, routerRoutes } from '../router/index.ts';
import { buildGateway, type ModelEntry } from '../gateway/index.ts';
import { PriceTable, ShadowSampler, UsageLedger, localDailyRows, registerUsageRoutes } from '../usage/index.ts';
import { CacheStore } from '../cache/index.ts';
import { Tenancy, adminRoutes, exposureWarnings, forwardSpendNotice, operatorGuard, readableCollections } from '../tenancy/index.ts';
import { KnowledgeStore, knowledgeRoutes } from '../knowledge/index.ts';
import { createMetrics, gracefulShutdown, opsRoutes, summaryFromMetrics, type Metrics } from '../ops/index.ts';
import type { Replicator } from '../mesh/index.ts';
import { meshRoutes } from '../mesh/routes.ts';
import { VERSION } from '../version.ts';
import { nodeIdentity, type NodeIdentity } from './identity.ts';
// The libp2p stack (~0.5 s and tens of MB to load) is imported only when the config enables the mesh, in small pieces.
import type { MeshLink } from './mesh-link.ts';
import type { MeshTenancy } from './mesh-tenancy.ts';
import { loadMeshLink } from './mesh-load.ts';
import { buildPipelines } from './pipelines.ts';
import { tokenCounter } from './count-tokens.ts';
import { DEFAULT_RETENTION, ResponseStore, RetentionJob } from '../responses/index.ts';
import { TargetSender } from './targets.ts';

export interface NodeOptions {
  /** Logger settings for fastify (false in tests). */
  logger?: FastifyServerOptions['logger'];
  /** Where start-up warnings go (stderr by default). */
  warn?: (message: string) => void;
}

export class FlowRouterNode {
  readonly config: NodeConfig;
  readonly db: Db;
  readonly transport: Transport;
  private readonly targets: TargetSender;
  readonly router: Router;
  readonly app: FastifyInstance;
  readonly prices: PriceTable;
  readonly tenancy: Tenancy;
  readonly cache: CacheStore;
  readonly usage: UsageLedger;
  readonly shadow: ShadowSampler;
  readonly metrics: Metrics;
  /** Stored Responses API responses, pruned past `responses.retention_days` by `responsesRetention`. */
  readonly responses: ResponseStore;
  readonly responsesRetention: RetentionJob;
  /** Opened in start(): its origin id is the node's identity, which is loaded asynchronously. */
  knowledge?: KnowledgeStore;
  /** The node's stable id (its mesh peer id), known once started. */
  nodeId?: string;
  /** Present, once started, when the config enables the mesh. */
  meshLink?: MeshLink;
  /** Knowledge (and optionally cache) replication, once the mesh has started. */
  replicator?: Replicator;
  /** Client keys replicated and their limits counted mesh-wide, once the mesh has started. */
  meshTenancy?: MeshTenancy;
  private readonly warn: (message: string) => void;
  private readonly pipelines: ReturnType<typeof buildPipelines>;
  private identity?: NodeIdentity;
  private meshRunning = false;
  private started = false;
  private configWatcher?: ConfigWatcher;

  constructor(config: NodeConfig, opts: NodeOptions = {}) {
    this.config = config;
    this.warn = opts.warn ?? ((message) => process.stderr.write(`${message}\n`));
    const current = () => this.router.currentConfig;
    this.db = openDatabase(join(config.server.dataDir, 'flowrouter.db'));
    this.prices = new PriceTable(config.prices);
    this.metrics = createMetrics();
    this.transport = new Transport();
    const { mesh } = config;
    this.tenancy = new Tenancy({
      db: this.db,
      config: current,
      prices: this.prices,
      sharedLimits: mesh.enabled && mesh.sharedLimits.enabled ? mesh.sharedLimits : undefined,
    });
    this.cache = new CacheStore(this.db, config.cache);
    this.usage = new UsageLedger(this.db, {
      flushMs: config.usage.flushMs,
      journal: config.usage.write === 'ack' ? join(config.server.dataDir, 'usage.journal') : undefined,
      retentionDays: config.usage.retentionDays,
    });
    this.responses = new ResponseStore(this.db, { retentionMs: () => current().responses.retentionDays * 86_400_000 });
    this.responsesRetention = new RetentionJob(this.responses, {
      ...DEFAULT_RETENTION,
      onError: (err) => this.app.log.child({ component: 'responses' }).warn({ err: { message: (err as Error)?.message } }, 'responses retention failed'),
    });
    const countTokens = tokenCounter({ router: { resolve: (req, ctx) => this.router.resolve(req, ctx) }, tenancy: this.tenancy, transport: this.transport });
    this.app = buildGateway(
      {
        chat: (req, ctx) => this.pipelines.chat(req, ctx),
        countTokens,
        responses: { store: this.responses, storing: () => current().responses.store },
        streamKeepaliveMs: () => current().server.sseKeepaliveMs,
        embeddings: (req, ctx) => this.pipelines.embeddings(req, ctx),
        completions: (req, ctx) => this.pipelines.completions(req, ctx),
        authenticate: this.tenancy.authenticate,
        models: () => this.models(),
        ready: () => ({ ready: this.started && this.router.available() }),
      },
      { bodyLimitBytes: config.server.bodyLimitBytes, logger: opts.logger ?? false },
    );
    const targets = (this.targets = new TargetSender({
      transport: this.transport,
      config: current,
      knowledge: () => this.knowledge,
      mesh: () => (this.meshRunning ? this.meshLink : undefined),
      readable: readableCollections(this.tenancy.policyOf, current),
    }));
    this.router = new Router({
      config,
      prices: this.prices,
      logger: this.app.log.child({ component: 'router' }),
      send: targets.send,
      supports: targets.supports,
      probe: targets.probe,
      // Peers are targets of the router; the mesh supplies them once it runs.
      peers: config.mesh.enabled
        ? { candidates: (names, template, signal) => this.meshLink?.peers.candidates(names, template, signal) ?? Promise.resolve([]) }
        : undefined,
    });
    this.shadow = new ShadowSampler({ db: this.db, prices: this.prices, config: current, send: targets.send, chat: (req, ctx) => this.router.chat(req, ctx) });
    this.pipelines = buildPipelines({
      config: current,
      router: this.router,
      tenancy: this.tenancy,
      ledger: this.usage,
      prices: this.prices,
      shadow: this.shadow,
      cache: this.cache,
      knowledge: () => this.knowledge,
      metrics: this.metrics,
      requestLog: this.app.log,
    });
    this.metrics.setSources({
      breakers: () => this.router.status().targets.map((t) => ({ target: t.id, state: t.breaker.state })),
      kb: () => {
        const s = this.knowledge?.stats();
        return { documents: s?.documents ?? 0, chunks: s?.chunks ?? 0 };
      },
      mesh: () => {
        const m = this.meshLink?.mesh;
        if (!m || !this.meshRunning) return { peers: 0 };
        const lags = this.replicator?.status().peers.map((p) => p.secondsSinceSync ?? 0) ?? [];
        return {
          peers: m.status().peers.healthy,
          lagSeconds: lags.length ? Math.max(...lags) : undefined,
          peerList: m.peers().map((p) => ({ id: p.peerId, models: p.capacity?.models, capacity: p.capacity?.freeConcurrency, address: p.addresses[0] })),
        };
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
    registerUsageRoutes(this.app, {
      db: this.db,
      flush: () => this.usage.flush(),
      guard,
      mesh: () => (this.meshRunning ? this.meshTenancy?.usage : undefined),
    });
    // Registered now, loaded at listen(): by then start() has opened the store.
    this.app.register(knowledgeRoutes, () => ({ store: this.knowledge!, guard }));
    if (this.config.mesh.enabled) {
      this.app.register(async (scope) => {
        scope.addHook('onRequest', async (request) => guard(request));
        await scope.register(meshRoutes, {
          mesh: () => (this.meshRunning ? this.meshLink?.mesh : undefined),
          replication: () => this.replicator?.status() ?? null,
          keys: () => this.meshTenancy?.keyReplicator?.status() ?? null,
          limits: () => this.tenancy.shared?.status() ?? null,
          // A peer whose forwards keep failing has its router breaker open.
          breakerOpen: (peerId) => this.router.isOpen(`peer:${peerId}`),
        });
      });
    } else {
      this.app.get('/v1/mesh/*', async () => {
        throw new NotFoundError('The mesh is not enabled on this node (add a mesh: section to the config)', 'mesh_disabled');
      });
    }
    this.app.register(opsRoutes, {
      metrics: this.metrics,
      guard,
      summary: () => summaryFromMetrics(this.metrics, { targets: () => this.router.status().targets.map((t) => t.id) }),
    });
  }

  /** Reloads routing when the config file changes or on SIGHUP; an invalid file is logged and the running config kept. */
  private watchConfigFile(): void {
    const { source, server } = this.config;
    if (!existsSync(source)) return;
    const log = this.app.log.child({ component: 'config' });
    this.configWatcher = watchConfig({
      file: source,
      overrides: { host: server.host, port: server.port, dataDir: server.dataDir },
      onConfig: (config) => {
        this.router.reload(config);
        log.info({ file: source }, 'config reloaded');
      },
      onError: (err) =>
        log.error({ file: source, err: { message: err instanceof Error ? err.message : String(err) } }, 'config reload rejected; keeping the running config'),
    });
    this.configWatcher.start();
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
    this.knowledge.start();
    this.tenancy.attach(identity.peerId);
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    this.started = true;
    this.router.start();
    this.responsesRetention.start();
    this.watchConfigFile();
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.server.port;
    const host = this.config.server.host;
    // Start-up warnings go to the log and, for whoever watches the terminal, to `opts.warn` (stderr) as well.
    const tenancyLog = this.app.log.child({ component: 'tenancy' });
    for (const warning of exposureWarnings(host, this.router.currentConfig.auth)) {
      tenancyLog.warn({ host }, warning);
      this.warn(warning);
    }
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (!this.config.mesh.enabled) return { host, port, url };
    try {
      // After listen: the gateway is ready before the libp2p stack has even loaded.
      await this.createMeshLink();
      await this.meshLink!.start();
      this.meshRunning = true;
      const notice = forwardSpendNotice(this.router.currentConfig);
      if (notice?.level === 'warn') this.warn(`flowrouter: ${notice.message}`);
      if (notice) tenancyLog[notice.level]({}, notice.message);
      await this.startReplication();
      const status = this.meshLink!.mesh.status();
      return { host, port, url, mesh: { peerId: status.peerId, multiaddrs: status.multiaddrs } };
    } catch (err) {
      // The gateway keeps serving without the mesh; the operator is told why.
      const reason = err instanceof Error ? err.message : String(err);
      this.app.log.child({ component: 'mesh' }).error({ err: { message: reason } }, 'mesh did not start');
      this.warn(`flowrouter: mesh did not start: ${reason}`);
      return { host, port, url };
    }
  }

  private async createMeshLink(): Promise<void> {
    const MeshLink = await loadMeshLink();
    this.meshLink = new MeshLink({
      config: () => this.router.currentConfig,
      dataDir: this.config.server.dataDir,
      version: VERSION,
      routerStatus: () => this.router.status(),
      probe: this.targets.probe,
      forwardedChat: this.pipelines.forwardedChat,
      clientOf: (identity) => this.tenancy.forwardedClient(identity),
      onForward: (direction) => this.metrics.meshForwards.inc({ direction }),
      logger: this.app.log,
    });
  }

  /** Gossip and anti-entropy for the knowledge base (and the cache when configured) and the client keys over the running mesh. */
  private async startReplication(): Promise<void> {
    const m = this.config.mesh;
    if (!this.meshLink || !this.identity) return;
    const { createReplicator } = await import('../mesh/replication/index.ts');
    const privateKey = await this.identity.privateKey();
    const options = { syncIntervalMs: m.syncIntervalMs, tombstoneHorizonMs: m.tombstoneHorizonMs, replicateCache: m.replicateCache };
    if (m.replicateKnowledge && this.knowledge) {
      this.replicator = createReplicator({
        mesh: this.meshLink.mesh,
        privateKey,
        store: this.knowledge,
        cache: m.replicateCache ? this.cache : null,
        options,
        log: this.app.log.child({ component: 'replication' }),
      });
      await this.replicator.start();
    }
    const { startMeshTenancy } = await import('./mesh-tenancy.ts');
    this.meshTenancy = await startMeshTenancy({
      mesh: this.meshLink.mesh,
      privateKey,
      tenancy: this.tenancy,
      config: this.config,
      logger: this.app.log,
      usageRows: (range) => {
        this.usage.flush();
        return localDailyRows(this.db, range);
      },
    });
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
        { name: 'responses retention', stop: () => this.responsesRetention.stop() },
        { name: 'replication', stop: () => this.replicator?.stop() },
        { name: 'mesh tenancy', stop: () => this.meshTenancy?.stop() },
        {
          name: 'mesh',
          stop: () => {
            this.meshRunning = false;
            return this.meshLink?.stop();
          },
        },
        { name: 'transport', stop: () => this.transport.stop() },
        { name: 'usage ledger', stop: () => this.usage.stop() },
        { name: 'cache', stop: () => this.cache.persistRecency() },
        { name: 'metrics', stop: () => this.metrics.stop() },
        { name: 'knowledge', stop: () => this.knowledge?.stop() },
        {
          name: 'database',
          stop: () => {
            if (this.db.open) this.db.close();
          },
        },
      ],
    });
  }
}
