// Wires one Flow Router node: config → database → providers → router → gateway, with one start() and one stop().
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NodeConfig, TargetConfig } from './config/index.ts';
import type { ChatRequest } from './core/openai.ts';
import { UpstreamError } from './core/errors.ts';
import { openDatabase, type Db } from './core/database.ts';
import { closeTransport, providers, sendChat, sendJson, sendRawStream, type ChatResult, type Provider } from './providers/index.ts';
import { Router, type RequestMeta, type Routed } from './router/index.ts';
import { buildGateway, type ChatService, type GatewayServices, type ModelEntry } from './gateway/index.ts';
import { PriceTable, ShadowSampler, UsageLedger, registerUsageRoutes, usageLayer } from './usage/index.ts';
import { CacheStore, cacheLayer, normalizeLayer } from './cache/index.ts';

/** A step on the chat path that wraps the next one (tenancy → usage → cache → router). */
export type ChatLayer = (next: ChatService) => ChatService;

export const VERSION = '0.1.0';

export interface NodeOptions {
  /** Logger settings for fastify (false in tests). */
  logger?: boolean | Record<string, unknown>;
}

function providerOf(target: TargetConfig): Provider {
  const p = target.account && providers[target.account.type];
  if (!p) throw new UpstreamError('client', `target ${target.id}: provider ${target.account?.type ?? target.kind} is not available`, { status: 500 });
  return p;
}

function idAndTime(requestId: string) {
  return { id: `chatcmpl-${requestId.replaceAll('-', '').slice(0, 24)}`, created: Math.floor(Date.now() / 1000) };
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
  readonly cache: CacheStore;
  readonly usage: UsageLedger;
  readonly shadow: ShadowSampler;
  private started = false;

  constructor(config: NodeConfig, opts: NodeOptions = {}) {
    this.config = config;
    this.db = openDatabase(join(config.server.dataDir, 'flowrouter.db'));
    this.prices = new PriceTable(config.raw.prices);
    this.router = new Router({ config, send: (target, req, ctx) => this.sendToTarget(target, req, ctx) });
    this.cache = new CacheStore(this.db, config.cache);
    this.usage = new UsageLedger(this.db, { flushMs: config.usage.flushMs, journal: config.usage.write === 'ack' ? join(config.server.dataDir, 'usage.journal') : undefined });
    this.shadow = new ShadowSampler({ db: this.db, prices: this.prices, config: () => this.router.currentConfig,
      send: (target, req, ctx) => this.sendToTarget(target, req, ctx), chat: (req, meta) => this.router.chat(req, meta) });
    const services = this.services();
    this.app = buildGateway(services, { bodyLimitBytes: config.server.bodyLimitBytes, logger: opts.logger ?? false });
    registerUsageRoutes(this.app, { db: this.db, flush: () => this.usage.flush(), authenticate: services.authenticate });
  }

  /** The one "send to target" seam: a provider account behind the shared transport. */
  private async sendToTarget(target: TargetConfig, req: ChatRequest, ctx: { signal: AbortSignal; requestId: string }): Promise<ChatResult> {
    if (target.kind !== 'provider' || !target.account) {
      throw new UpstreamError('server', `target ${target.id}: ${target.kind} targets are not available on this node`);
    }
    return sendChat(providerOf(target), target.account, req, { model: req.model, ...idAndTime(ctx.requestId) }, ctx.signal);
  }

  /** The chat path, outermost layer first; each capability adds its layer here. */
  private chatService(): ChatService {
    const routerService: ChatService = async (req: ChatRequest, meta: RequestMeta) => {
      const routed: Routed = await this.router.chat(req, meta);
      return { result: routed.result, headers: routeHeaders(routed) };
    };
    const config = () => this.router.currentConfig;
    const layers: ChatLayer[] = [
      usageLayer({ ledger: this.usage, prices: this.prices, config, onAnswer: (req, meta, row, answer) => this.shadow.observe(req, meta, row, answer) }),
      cacheLayer({ store: this.cache, config }),
      normalizeLayer(() => config().normalize.enabled),
    ];
    return layers.reduceRight((next, layer) => layer(next), routerService);
  }

  private services(): GatewayServices {
    return {
      chat: this.chatService(),
      embeddings: async (req, meta) => {
        const routed = await this.router.walk(req, meta, async (target, model) => {
          const p = providerOf(target);
          if (!p.embeddings || !target.account) throw new UpstreamError('server', `${target.id} has no embeddings`);
          const ctx = { model, ...idAndTime(meta.requestId) };
          const { body } = await sendJson(p, target.account, p.embeddings.request({ ...req, model }, ctx, target.account), meta.signal);
          return p.embeddings.response(body, ctx);
        }, undefined, (t) => t.kind === 'provider' && !!providers[t.account!.type]?.embeddings);
        return { body: routed.result, headers: routeHeaders(routed) };
      },
      completions: async (req, meta) => {
        const routed = await this.router.walk(req, meta, async (target, model) => {
          const p = providerOf(target);
          if (!p.completions || !target.account) throw new UpstreamError('server', `${target.id} has no legacy completions`);
          const spec = p.completions.request({ ...req, model }, { model, ...idAndTime(meta.requestId) }, target.account);
          if (req.stream) return { kind: 'stream' as const, body: await sendRawStream(p, target.account, spec, meta.signal) };
          return { kind: 'json' as const, body: (await sendJson(p, target.account, spec, meta.signal)).body };
        }, undefined, (t) => t.kind === 'provider' && !!providers[t.account!.type]?.completions);
        return { ...routed.result, headers: routeHeaders(routed) };
      },
      models: () => this.models(),
      ready: () => ({ ready: this.started && this.router.currentConfig.chains.size > 0 }),
    };
  }

  private models(): ModelEntry[] {
    const ids = new Set<string>();
    for (const chain of this.router.currentConfig.chains.values()) {
      ids.add(chain.name);
      for (const t of chain.targets) if (t.model !== '*') ids.add(t.model);
    }
    return [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: 'flowrouter' }));
  }

  /** Listens on the configured host and port; returns the bound address. */
  async start(): Promise<{ host: string; port: number; url: string }> {
    await this.app.listen({ host: this.config.server.host, port: this.config.server.port });
    this.started = true;
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.server.port;
    const host = this.config.server.host;
    return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.app.close();
    await this.shadow.stop();
    await closeTransport();
    this.usage.stop();
    this.cache.persistRecency();
    if (this.db.open) this.db.close();
  }
}

