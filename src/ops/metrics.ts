// Prometheus metrics on the node's own registry: request, token and cost counters, plus gauges read from other capabilities.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RateSeries } from './series.ts';

/** 0 closed, 1 half-open, 2 open — the numbers `breaker_state` exports. */
export type BreakerState = 'closed' | 'half-open' | 'open';
export const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface PeerInfo {
  id: string;
  /** Free request slots the peer advertises (its capacity), when known. */
  capacity?: number;
  models?: string[];
  address?: string;
}

/**
 * What other capabilities expose for the gauges and the dashboard; each is optional so the node passes whatever exists.
 * They are called when /metrics is scraped or the dashboard polls, never on the request path.
 */
export interface MetricsSources {
  breakers?: () => { target: string; state: BreakerState }[];
  kb?: () => { documents: number; chunks: number };
  mesh?: () => { peers: number; lagSeconds?: number; peerList?: PeerInfo[] };
}

/**
 * Label values admitted for one label, first come first served up to a fixed number; later values read as `other`.
 * Model names come from upstream answers and client ids from keys: without a bound, a faulty upstream inventing a
 * model name per answer would add series to every scrape forever.
 */
export class LabelValues {
  private readonly admitted = new Set<string>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  of(value: string): string {
    if (this.admitted.has(value)) return value;
    if (this.admitted.size >= this.max) return OTHER_LABEL;
    this.admitted.add(value);
    return value;
  }

  get size(): number {
    return this.admitted.size;
  }
}

/** What a label value beyond its bound is counted as. */
export const OTHER_LABEL = 'other';
/** Distinct models and clients counted under their own names. */
const MAX_MODELS = 200;
const MAX_CLIENTS = 1000;

export interface Metrics {
  registry: Registry;
  /** Bounded label values for the model and client labels. */
  labels: { model: LabelValues; client: LabelValues };
  requests: Counter<'chain' | 'target' | 'status'>;
  duration: Histogram<'chain' | 'target'>;
  firstByte: Histogram<'chain' | 'target'>;
  tokens: Counter<'model' | 'client' | 'kind'>;
  cost: Counter<'model' | 'client'>;
  cacheRequests: Counter<'outcome'>;
  breakerState: Gauge<'target'>;
  inFlight: Gauge;
  kbDocuments: Gauge;
  kbChunks: Gauge;
  meshPeers: Gauge;
  meshForwards: Counter<'direction'>;
  replicationLag: Gauge;
  /** Request rate and mean latency per second, for the dashboard's live chart. */
  series: RateSeries;
  /** Replaces the sources the gauges read (the node sets them once its capabilities exist). */
  setSources(sources: MetricsSources): void;
  sources(): MetricsSources;
  /** Stops the per-second sampler. */
  stop(): void;
}

export interface MetricsOptions {
  sources?: MetricsSources;
  /** Process metrics (CPU, RSS, event loop lag…); on by default. */
  defaultMetrics?: boolean;
  /** Points kept by the rate/latency series (one per second). */
  seriesPoints?: number;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources = opts.sources ?? {};
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'flowrouter_requests_total',
    help: 'Chat requests by chain, answering target and HTTP status',
    labelNames: ['chain', 'target', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'flowrouter_request_duration_seconds',
    help: 'Time from request to the last byte written',
    labelNames: ['chain', 'target'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const firstByte = new Histogram({
    name: 'flowrouter_first_byte_seconds',
    help: 'Time from request to the first byte of the answer',
    labelNames: ['chain', 'target'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: 'flowrouter_tokens_total',
    help: 'Tokens by model, client and kind (prompt or completion)',
    labelNames: ['model', 'client', 'kind'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'flowrouter_cost_usd_total',
    help: 'Cost in USD at list prices by model and client',
    labelNames: ['model', 'client'] as const,
    registers,
  });
  const cacheRequests = new Counter({
    name: 'flowrouter_cache_requests_total',
    help: 'Response cache lookups by outcome (hit, miss, bypass…)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const inFlight = new Gauge({ name: 'flowrouter_in_flight_requests', help: 'Chat requests being answered now', registers });
  const meshForwards = new Counter({
    name: 'flowrouter_mesh_forwards_total',
    help: 'Requests forwarded over the mesh (out: to a peer, in: from a peer)',
    labelNames: ['direction'] as const,
    registers,
  });

  const breakerState = new Gauge({
    name: 'flowrouter_breaker_state',
    help: 'Circuit breaker per target: 0 closed, 1 half-open, 2 open',
    labelNames: ['target'] as const,
    registers,
    collect() {
      if (!sources.breakers) return;
      this.reset();
      for (const b of sources.breakers()) this.set({ target: b.target }, BREAKER_VALUE[b.state]);
    },
  });
  const kbDocuments = new Gauge({
    name: 'flowrouter_kb_documents',
    help: 'Documents in the knowledge base',
    registers,
    collect() {
      const kb = sources.kb?.();
      if (kb) this.set(kb.documents);
    },
  });
  const kbChunks = new Gauge({
    name: 'flowrouter_kb_chunks',
    help: 'Chunks in the knowledge base',
    registers,
    collect() {
      const kb = sources.kb?.();
      if (kb) this.set(kb.chunks);
    },
  });
  const meshPeers = new Gauge({
    name: 'flowrouter_mesh_peers',
    help: 'Connected mesh peers',
    registers,
    collect() {
      const m = sources.mesh?.();
      if (m) this.set(m.peers);
    },
  });
  const replicationLag = new Gauge({
    name: 'flowrouter_replication_lag_seconds',
    help: 'Age of the oldest operation not yet replicated from peers',
    registers,
    collect() {
      const lag = sources.mesh?.().lagSeconds;
      if (lag !== undefined) this.set(lag);
    },
  });

  const series = new RateSeries(opts.seriesPoints ?? 300);
  series.start();

  return {
    registry,
    labels: { model: new LabelValues(MAX_MODELS), client: new LabelValues(MAX_CLIENTS) },
    requests,
    duration,
    firstByte,
    tokens,
    cost,
    cacheRequests,
    breakerState,
    inFlight,
    kbDocuments,
    kbChunks,
    meshPeers,
    meshForwards,
    replicationLag,
    series,
    setSources(s) {
      sources = s;
    },
    sources: () => sources,
    stop() {
      series.stop();
    },
  };
}
