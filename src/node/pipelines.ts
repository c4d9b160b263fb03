// The node's request pipelines, outermost layer first: one per endpoint, and one for requests forwarded by a peer.
import type { NodeConfig } from '../config/index.ts';
import { cacheLayer, normalizeLayer, type CacheStore } from '../cache/index.ts';
import { ragLayer, type KnowledgeStore } from '../knowledge/index.ts';
import type { Logger } from '../core/logger.ts';
import { metricsObserver, observeRequests, requestLogObserver, type Metrics } from '../ops/index.ts';
import { pipeline, type AnyLayer, type Handler, type Layer, type Operation } from '../pipeline/index.ts';
import type { Router } from '../router/index.ts';
import { peerLimitsLayer, ragCollectionPolicy, type Tenancy } from '../tenancy/index.ts';
import { usageLayer, type PriceTable, type ShadowSampler, type UsageLedger } from '../usage/index.ts';

export interface PipelineParts {
  config: () => NodeConfig;
  router: Router;
  tenancy: Tenancy;
  ledger: UsageLedger;
  prices: PriceTable;
  shadow: ShadowSampler;
  cache: CacheStore;
  knowledge: () => KnowledgeStore | undefined;
  metrics: Metrics;
  requestLog: Logger;
}

/** Chooses the request's chain once; every later layer reads it from the context. */
function routeOnce(router: Router): AnyLayer {
  return (next) => (req, ctx) => {
    ctx.trace.route ??= router.resolve(req, ctx);
    return next(req, ctx);
  };
}

function core<O extends Operation>(router: Router, op: O): Handler<O> {
  return (req, ctx) => router.route(op, req, ctx);
}

export function buildPipelines(p: PipelineParts) {
  const observe = observeRequests(
    metricsObserver(p.metrics, (model, usage) => p.prices.costOf(model, usage)),
    requestLogObserver(p.requestLog),
  );
  const usage = usageLayer({
    ledger: p.ledger,
    prices: p.prices,
    config: p.config,
    onAnswer: (req, ctx, row, answer) => p.shadow.observe(req, ctx, row, answer),
  });
  const route = routeOnce(p.router);
  const cache = cacheLayer({ store: p.cache, config: p.config });
  const normalize = normalizeLayer(() => p.config().normalize.enabled);
  const rag = ragLayer({ store: p.knowledge, collectionFor: ragCollectionPolicy(p.tenancy.policyOf, p.config) });
  const chatLayers: Layer<'chat'>[] = [observe, p.tenancy.layer, usage, route, rag, cache, normalize];
  /** Same for every call that is not chat: no RAG, cache or normalization. */
  const plain = <O extends Operation>(op: O) => pipeline<O>([observe, p.tenancy.layer, usage, route], core(p.router, op));
  return {
    chat: pipeline(chatLayers, core(p.router, 'chat')),
    embeddings: plain('embeddings'),
    completions: plain('completions'),
    /**
     * A peer's forward: made for a client key the peer vouched for and this node holds, that key's permissions and
     * limits (counted where it entered the mesh, or here when that member's counts do not cover it); else the peer's own,
     * under `mesh.forward_limits`. The forwarding node already ran RAG; usage is recorded against the client (or the
     * peer) and the peer it came through.
     */
    forwardedChat: pipeline<'chat'>(
      [p.tenancy.forwardedLayer, peerLimitsLayer(p.config, p.tenancy.allowances), usage, route, cache, normalize],
      core(p.router, 'chat'),
    ),
  };
}
