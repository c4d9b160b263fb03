// Route rules and router settings: globs compiled once at load, so matching a request is cheap.
import { z } from 'zod';
import { camelKeys } from './keys.ts';

/** `*` matches any run of characters, `?` one; everything else is literal. Case-sensitive, whole string. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

const globs = z.record(z.string(), z.string()).default({});

/** A route rule: every condition given must hold for the rule to pick its chain. */
const routeSchema = z
  .object({
    name: z.string().optional(),
    chain: z.string().min(1),
    match: z
      .object({
        model: z.string().transform(globToRegExp).optional(),
        min_prompt_tokens: z.number().int().min(0).optional(),
        max_prompt_tokens: z.number().int().min(0).optional(),
        has_tools: z.boolean().optional(),
        has_images: z.boolean().optional(),
        /** Header name (matched lower-cased) → value glob. */
        header: globs.transform((h) => Object.entries(h).map(([k, v]): [string, RegExp] => [k.toLowerCase(), globToRegExp(v)])),
        /** `metadata` key → value glob. */
        metadata: globs.transform((m) => Object.entries(m).map(([k, v]): [string, RegExp] => [k, globToRegExp(v)])),
        /** Client ids (from tenancy) that match. */
        client: z
          .union([z.string(), z.array(z.string())])
          .transform((c) => [c].flat())
          .optional(),
      })
      .strict(),
  })
  .strict()
  .transform(({ name, chain, match: { header, client, ...match } }) => ({ name, chain, ...camelKeys(match), headers: header, clients: client }));

/** In file order: the first rule that matches picks the chain. A rule's name defaults to `routes[<index>]`. */
export const routesSchema = z
  .array(routeSchema)
  .default([])
  .transform((rules) => rules.map((r, i) => ({ ...r, name: r.name ?? `routes[${i}]` })));

export type RouteRule = z.output<typeof routesSchema>[number];

export const routerSchema = z
  .object({
    /** Retries per target before moving on (a chain's `retries` overrides it). */
    retries: z.number().int().min(0).max(10).default(0),
    retry_base_ms: z.number().int().min(0).default(200),
    retry_max_ms: z.number().int().min(0).default(5_000),
    /** A retry-after longer than this is not waited for: the target is skipped and its breaker cools down that long (capped). */
    max_retry_after_ms: z.number().int().min(0).default(10_000),
    breaker_failures: z.number().int().positive().default(5),
    breaker_window_ms: z.number().int().positive().default(30_000),
    breaker_cooldown_ms: z.number().int().positive().default(30_000),
    /** 0 disables active health checks. */
    health_check_interval_ms: z.number().int().min(0).default(0),
  })
  .strict()
  .transform((r) => camelKeys(r))
  .prefault({});

export type RouterSettings = z.output<typeof routerSchema>;
