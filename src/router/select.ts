// Which chain serves a request, and in what order its targets are tried.
import type { ChatRequest } from '../core/openai.ts';
import type { ChainConfig, NodeConfig, TargetConfig } from '../config/index.ts';
import { NotFoundError } from '../core/errors.ts';

/**
 * Chain selection, in this order: the model names a chain; else the first matching route rule;
 * else a chain that contains the model; else `default`.
 */
export function selectChain(config: NodeConfig, req: ChatRequest, ruleMatch?: () => ChainConfig | undefined): { chain: ChainConfig; byModel: boolean } {
  const named = config.chains.get(req.model);
  if (named) return { chain: named, byModel: false };
  const ruled = ruleMatch?.();
  if (ruled) return { chain: ruled, byModel: false };
  for (const chain of config.chains.values()) {
    if (chain.targets.some((t) => t.model === req.model)) return { chain, byModel: true };
  }
  const fallback = config.chains.get('default');
  if (fallback) return { chain: fallback, byModel: false };
  throw new NotFoundError(`The model "${req.model}" does not exist: no chain is named after it or serves it, and there is no default chain`, 'model_not_found');
}

/** When a chain was picked because it serves the requested model, targets serving exactly that model go first. */
export function preferModel(order: TargetConfig[], model: string): TargetConfig[] {
  const exact = order.filter((t) => t.model === model);
  return exact.length === 0 || exact.length === order.length ? order : [...exact, ...order.filter((t) => t.model !== model)];
}

/** The model to send to a target: its own, or the client's when the target passes models through (`*`). */
export function upstreamModel(target: TargetConfig, requested: string): string {
  return target.model === '*' ? requested : target.model;
}
