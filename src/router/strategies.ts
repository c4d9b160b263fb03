// A chain's strategy turns its targets into the order the walk tries them in.
import type { ChainConfig, TargetConfig } from '../config/index.ts';
import { providers } from '../providers/index.ts';
import type { TargetStates } from './stats.ts';
import type { PriceLookup } from './types.ts';
import { upstreamModel } from './select.ts';

export interface OrderContext {
  states: TargetStates;
  prices?: PriceLookup;
  /** Uniform in [0, 1): injected so tests can seed it. */
  random: () => number;
  /** Round-robin position per chain name. */
  rotation: Map<string, number>;
  requestedModel: string;
  promptTokens: () => number;
  /** Completion tokens the client allows (max_tokens); a typical answer when unset. */
  maxOutputTokens?: number;
}

const TYPICAL_OUTPUT_TOKENS = 256;

function roundRobin(chain: ChainConfig, ctx: OrderContext): TargetConfig[] {
  const n = chain.targets.length;
  const start = (ctx.rotation.get(chain.name) ?? 0) % n;
  ctx.rotation.set(chain.name, start + 1);
  return [...chain.targets.slice(start), ...chain.targets.slice(0, start)];
}

/** Weighted random order without replacement: the first target is drawn with probability weight/total, and so on. */
function weighted(targets: TargetConfig[], random: () => number): TargetConfig[] {
  const pool = [...targets];
  const out: TargetConfig[] = [];
  while (pool.length > 1) {
    const total = pool.reduce((s, t) => s + t.weight, 0);
    let r = random() * total;
    let i = 0;
    while (i < pool.length - 1 && r >= pool[i].weight) r -= pool[i++].weight;
    out.push(pool.splice(i, 1)[0]);
  }
  return [...out, ...pool];
}

/** Fastest moving-average first byte first; targets never measured go first (in chain order) so they get measured. */
function leastLatency(targets: TargetConfig[], states: TargetStates): TargetConfig[] {
  const avg = (t: TargetConfig) => states.peek(t.id)?.stats.latencyAvgMs ?? -1;
  return [...targets].sort((a, b) => avg(a) - avg(b));
}

/** Estimated USD of this request on a target; self-hosted and knowledge targets are free, unknown prices rank last. */
function estimatedCost(t: TargetConfig, ctx: OrderContext): number {
  if (t.kind !== 'provider' || !t.account || providers[t.account.type]?.selfHosted) return 0;
  const price = ctx.prices?.priceOf(upstreamModel(t, ctx.requestedModel));
  if (!price) return Number.POSITIVE_INFINITY;
  return ctx.promptTokens() * price.input + (ctx.maxOutputTokens ?? TYPICAL_OUTPUT_TOKENS) * price.output;
}

/** Cheapest first among targets fast enough (recent p95) and good enough (quality tier); the rest after, in chain order. */
function cheapest(chain: ChainConfig, ctx: OrderContext): TargetConfig[] {
  const eligible = (t: TargetConfig) => {
    const p95 = ctx.states.peek(t.id)?.stats.p95();
    if (chain.maxP95Ms !== undefined && p95 !== undefined && p95 > chain.maxP95Ms) return false;
    return chain.minQuality === undefined || (t.quality ?? 0) >= chain.minQuality;
  };
  const good = chain.targets.filter(eligible);
  const costs = new Map(good.map((t) => [t, estimatedCost(t, ctx)]));
  good.sort((a, b) => Math.sign(costs.get(a)! - costs.get(b)!) || 0);
  return [...good, ...chain.targets.filter((t) => !costs.has(t))];
}

export function orderTargets(chain: ChainConfig, ctx: OrderContext): TargetConfig[] {
  switch (chain.strategy) {
    case 'priority':
      return chain.targets;
    case 'round-robin':
      return roundRobin(chain, ctx);
    case 'weighted':
      return weighted(chain.targets, ctx.random);
    case 'least-latency':
      return leastLatency(chain.targets, ctx.states);
    case 'cost':
      return cheapest(chain, ctx);
  }
}
