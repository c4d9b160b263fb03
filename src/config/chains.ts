// A chain: its targets and how they are walked (strategy, retries, context fallback, cache, RAG, shadow comparison).
import { z } from 'zod';
import { camelKeys } from './keys.ts';
import { targetSchema, type TargetConfig } from './targets.ts';

export const STRATEGIES = ['priority', 'round-robin', 'weighted', 'least-latency', 'cost'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const targetList = z.array(targetSchema).min(1, { error: 'expected at least one target' });

const chainOptions = z
  .object({
    strategy: z.enum(STRATEGIES).default('priority'),
    /** For `cost`: the slowest recent p95 (ms) and lowest quality tier a target may have. */
    max_p95_ms: z.number().positive().optional(),
    min_quality: z.number().int().min(0).max(10).optional(),
    retries: z.number().int().min(0).max(10).optional(),
    /** On a context-length error, go on only to targets with a larger `context_window` than the failing one. */
    context_fallback: z.boolean().default(false),
    cache_ttl_s: z.number().int().min(0).optional(),
    rag: z
      .object({ collection: z.string(), top_k: z.number().int().positive().optional(), token_budget: z.number().int().positive().optional() })
      .strict()
      .transform((r) => camelKeys(r))
      .optional(),
    /** Model comparison: a sample of this chain's traffic is also sent to a candidate target (a target id or an inline target). */
    shadow: z
      .object({
        target: z.union([z.string().min(1), targetSchema]),
        sample: z.number().min(0).max(1).default(0.1),
        judge: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const LIST_FORM_OPTIONS = chainOptions.parse({});

/** A list of targets (strategy `priority`), or an object with `targets` and options. */
export const chainSchema = z
  .union([
    targetList.transform((targets) => ({ ...LIST_FORM_OPTIONS, targets, listForm: true })),
    chainOptions.extend({ targets: targetList }).transform((c) => ({ ...c, listForm: false })),
  ])
  .transform(({ targets, shadow, listForm, ...options }) => ({ targets, shadow, listForm, options: camelKeys(options) }));

export type ChainSpec = z.output<typeof chainSchema>;

/** A chain's model comparison: `sample` of its traffic also goes to `target`, optionally scored by the `judge` chain. */
export type ShadowConfig = Omit<NonNullable<ChainSpec['shadow']>, 'target'> & { target: TargetConfig };

export type ChainConfig = ChainSpec['options'] & {
  name: string;
  targets: TargetConfig[];
  shadow?: ShadowConfig;
};

/** Every name a client may ask for: each chain's name and each concrete model its targets serve (`*` is not one). */
export function servedModels(config: { chains: ReadonlyMap<string, ChainConfig> }): string[] {
  const ids = new Set<string>();
  for (const chain of config.chains.values()) {
    ids.add(chain.name);
    for (const t of chain.targets) if (t.model !== '*') ids.add(t.model);
  }
  return [...ids];
}
