// A snapshot of the router for GET /v1/router/status: chains, rules and each target's health; never keys or URLs.
import type { NodeConfig } from '../config/index.ts';
import type { BreakerState } from './breaker.ts';
import type { TargetStates } from './stats.ts';

export interface TargetStatus {
  id: string;
  chains: string[];
  provider: string;
  model: string;
  breaker: { state: BreakerState; retry_in_ms: number };
  latency: { avg_ms: number | null; p95_ms: number | null };
  error_rate: number;
  requests: number;
  failures: number;
  in_flight: number;
  limits: { max_concurrency: number | null; rpm: number | null; tpm: number | null; requests_last_minute: number; tokens_last_minute: number };
}

export interface RouterStatus {
  source: string;
  chains: { name: string; strategy: string; targets: string[] }[];
  routes: { name: string; chain: string }[];
  targets: TargetStatus[];
}

const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 10) / 10);

export function routerStatus(config: NodeConfig, states: TargetStates, now: number): RouterStatus {
  const targets = new Map<string, TargetStatus>();
  for (const chain of config.chains.values()) {
    for (const t of chain.targets) {
      const seen = targets.get(t.id);
      if (seen) {
        seen.chains.push(chain.name);
        continue;
      }
      const s = states.peek(t.id);
      targets.set(t.id, {
        id: t.id,
        chains: [chain.name],
        provider: t.account?.type ?? t.kind,
        model: t.model,
        breaker: { state: s?.breaker.state(now) ?? 'closed', retry_in_ms: Math.ceil(s?.breaker.retryInMs(now) ?? 0) },
        latency: { avg_ms: round(s?.stats.latencyAvgMs), p95_ms: round(s?.stats.p95()) },
        error_rate: round(s?.stats.errorRate()) ?? 0,
        requests: s?.stats.requests ?? 0,
        failures: s?.stats.failures ?? 0,
        in_flight: s?.stats.inFlight ?? 0,
        limits: {
          max_concurrency: t.maxConcurrency ?? null,
          rpm: t.rpm ?? null,
          tpm: t.tpm ?? null,
          requests_last_minute: s?.usage.requests(now) ?? 0,
          tokens_last_minute: s?.usage.tokens(now) ?? 0,
        },
      });
    }
  }
  return {
    source: config.source,
    chains: [...config.chains.values()].map((c) => ({ name: c.name, strategy: c.strategy, targets: c.targets.map((t) => t.id) })),
    routes: config.routes.map((r) => ({ name: r.name, chain: r.chain })),
    targets: [...targets.values()],
  };
}
