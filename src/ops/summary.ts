// The dashboard's data: one JSON document built from the metrics' own counters and the other capabilities' sources.
import type { BreakerState, Metrics, PeerInfo } from './metrics.ts';
import type { SeriesPoint } from './series.ts';

export interface TargetSummary {
  id: string;
  /** `unknown` when no breaker reports on this target. */
  state: BreakerState | 'unknown';
  requests: number;
  errors: number;
}

export interface TokenRow {
  prompt: number;
  completion: number;
  costUsd: number;
}

export interface DashboardSummary {
  /** Unix ms when this summary was built. */
  at: number;
  totals: { requests: number; errors: number; inFlight: number };
  targets: TargetSummary[];
  /** One point per second, oldest first. */
  series: SeriesPoint[];
  tokensByModel: (TokenRow & { model: string })[];
  tokensByClient: (TokenRow & { client: string })[];
  cache: { hits: number; misses: number; bypass: number };
  /** Null when this node has no knowledge base. */
  kb: { documents: number; chunks: number } | null;
  /** Null when the mesh is off. */
  peers: PeerInfo[] | null;
}

export interface SummaryOptions {
  /** Every configured target id, so idle targets are listed too. */
  targets?: () => string[];
}

type Values<L extends string> = { labels: Partial<Record<L, string | number>>; value: number }[];

async function valuesOf<L extends string>(metric: { get(): Promise<{ values: Values<L> }> | { values: Values<L> } }): Promise<Values<L>> {
  return (await metric.get()).values;
}

function tokenRows(tokens: Values<'model' | 'client' | 'kind'>, cost: Values<'model' | 'client'>, by: 'model' | 'client'): Map<string, TokenRow> {
  const rows = new Map<string, TokenRow>();
  const row = (key: string) => rows.get(key) ?? rows.set(key, { prompt: 0, completion: 0, costUsd: 0 }).get(key)!;
  for (const v of tokens) {
    const r = row(String(v.labels[by]));
    if (v.labels.kind === 'prompt') r.prompt += v.value;
    else r.completion += v.value;
  }
  for (const v of cost) row(String(v.labels[by])).costUsd += v.value;
  return rows;
}

/** Builds the dashboard summary from what the metrics module counted and what the sources report. */
export async function summaryFromMetrics(metrics: Metrics, opts: SummaryOptions = {}): Promise<DashboardSummary> {
  const sources = metrics.sources();
  const [requests, tokens, cost, cache, inFlight] = await Promise.all([
    valuesOf(metrics.requests),
    valuesOf(metrics.tokens),
    valuesOf(metrics.cost),
    valuesOf(metrics.cacheRequests),
    valuesOf(metrics.inFlight),
  ]);

  const targets = new Map<string, TargetSummary>();
  const target = (id: string) => targets.get(id) ?? targets.set(id, { id, state: 'unknown', requests: 0, errors: 0 }).get(id)!;
  for (const id of opts.targets?.() ?? []) target(id);
  for (const b of sources.breakers?.() ?? []) target(b.target).state = b.state;
  let total = 0;
  let errors = 0;
  for (const v of requests) {
    const failed = Number(v.labels.status) >= 500;
    total += v.value;
    if (failed) errors += v.value;
    if (v.labels.target === 'none') continue;
    const t = target(String(v.labels.target));
    t.requests += v.value;
    if (failed) t.errors += v.value;
  }

  const outcome = (name: string) => cache.filter((v) => v.labels.outcome === name).reduce((s, v) => s + v.value, 0);
  const hits = outcome('hit');
  const misses = outcome('miss');
  const cacheTotal = cache.reduce((s, v) => s + v.value, 0);
  const mesh = sources.mesh?.();

  return {
    at: Date.now(),
    totals: { requests: total, errors, inFlight: inFlight[0]?.value ?? 0 },
    targets: [...targets.values()],
    series: metrics.series.snapshot(),
    tokensByModel: [...tokenRows(tokens, cost, 'model')].map(([model, r]) => ({ model, ...r })),
    tokensByClient: [...tokenRows(tokens, cost, 'client')].map(([client, r]) => ({ client, ...r })),
    cache: { hits, misses, bypass: cacheTotal - hits - misses },
    kb: sources.kb?.() ?? null,
    peers: mesh ? (mesh.peerList ?? []) : null,
  };
}
