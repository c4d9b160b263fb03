// Prices per model in USD per million tokens: a bundled table, overridable from the config's `prices:` block.
import { promptParts, type Usage } from '../core/openai.ts';

export interface Price {
  input: number;
  output: number;
  /** Price of prompt tokens served from the provider's prompt cache; defaults to `input`. */
  cachedInput?: number;
  /** Price of prompt tokens written to the provider's prompt cache (Anthropic charges extra); defaults to `input`. */
  cacheWrite?: number;
}

/** List prices as published by each provider (USD per 1M tokens; Anthropic cache writes at the 5-minute rate). Local models cost nothing. */
export const BUNDLED_PRICES: Record<string, Price> = {
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, output: 60, cachedInput: 7.5 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'claude-3-opus': { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  'claude-3-sonnet': { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  'claude-3-haiku': { input: 0.25, output: 1.25, cachedInput: 0.03, cacheWrite: 0.3 },
  'claude-3-5-sonnet': { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
  'claude-3-7-sonnet': { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  'claude-opus-4': { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  'claude-opus-4-5': { input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25 },
  'claude-haiku-4-5': { input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 },
  'gemini-1.5-pro': { input: 1.25, output: 5 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'gemini-2.5-pro': { input: 1.25, output: 10, cachedInput: 0.31 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5, cachedInput: 0.075 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
};

export class PriceTable {
  private readonly prices: Map<string, Price>;
  /** Longest names first, so `gpt-4o-mini-2024-07-18` matches `gpt-4o-mini` before `gpt-4o`. */
  private readonly prefixes: string[];

  constructor(overrides: Record<string, Price> = {}) {
    this.prices = new Map(Object.entries(BUNDLED_PRICES));
    for (const [model, p] of Object.entries(overrides)) this.prices.set(model, p);
    this.prefixes = [...this.prices.keys()].sort((a, b) => b.length - a.length);
  }

  /** The price of a model: exact name, else the longest known prefix (dated snapshots), else unknown. */
  priceOf(model: string): Price | undefined {
    const exact = this.prices.get(model);
    if (exact) return exact;
    const name = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
    const prefix = this.prefixes.find((p) => name.startsWith(p));
    return prefix ? this.prices.get(prefix) : undefined;
  }

  /**
   * Cost in USD of one call; 0 for unknown (e.g. local) models. `prompt_tokens` include cache reads and writes (the
   * internal usage is OpenAI's), so each of the three parts of the prompt is priced once, at its own price.
   */
  costOf(model: string, usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens'> & { prompt_tokens_details?: Usage['prompt_tokens_details'] }): number {
    const p = this.priceOf(model);
    if (!p) return 0;
    const { uncached, cacheRead, cacheWrite } = promptParts(usage);
    return (
      (uncached * p.input + cacheRead * (p.cachedInput ?? p.input) + cacheWrite * (p.cacheWrite ?? p.input) + usage.completion_tokens * p.output) / 1_000_000
    );
  }
}
