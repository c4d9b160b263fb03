// The request recorder for metrics: counts, durations, first byte, in-flight, tokens, cost and cache outcomes.
import type { Usage } from '../core/openai.ts';
import type { Metrics } from './metrics.ts';
import type { RequestObserver, RequestRecord } from './observe.ts';

/** Cost in USD of one call (the node passes `PriceTable.costOf`). */
export type CostOf = (model: string, usage: Usage) => number;

/** Adds one finished request to the metrics. */
export function recordRequest(metrics: Metrics, r: RequestRecord, costOf?: CostOf): void {
  const route = { chain: r.chain, target: r.target };
  metrics.requests.inc({ ...route, status: String(r.status) });
  metrics.duration.observe(route, r.durationMs / 1000);
  if (r.firstByteMs !== undefined) metrics.firstByte.observe(route, r.firstByteMs / 1000);
  metrics.series.record(r.durationMs);
  if (r.cache) metrics.cacheRequests.inc({ outcome: r.cache });
  if (r.usage) {
    const who = { model: metrics.labels.model.of(r.model), client: metrics.labels.client.of(r.client) };
    metrics.tokens.inc({ ...who, kind: 'prompt' }, r.usage.prompt_tokens ?? 0);
    metrics.tokens.inc({ ...who, kind: 'completion' }, r.usage.completion_tokens ?? 0);
    // A cache hit cost nothing upstream; the price is the real model's, whatever its label.
    const cost = costOf && r.cache !== 'hit' ? costOf(r.model, r.usage) : 0;
    metrics.cost.inc(who, cost);
  }
}

/** The metrics observer; its layer goes outermost on every path so it sees cache hits and every failure. */
export function metricsObserver(metrics: Metrics, costOf?: CostOf): RequestObserver {
  return {
    onStart: () => metrics.inFlight.inc(),
    onEnd: (r) => {
      metrics.inFlight.dec();
      recordRequest(metrics, r, costOf);
    },
  };
}
