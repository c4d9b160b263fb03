// Route rules and router settings in typed form: globs compiled once here, so matching a request is cheap.
import type { RawConfig } from './schema.ts';

/** A route rule: every condition given must hold for the rule to pick its chain. */
export interface RouteRule {
  /** The rule's `name`, or `routes[<index>]`. */
  name: string;
  chain: string;
  model?: RegExp;
  minPromptTokens?: number;
  maxPromptTokens?: number;
  hasTools?: boolean;
  hasImages?: boolean;
  /** Lower-cased header name → value glob. */
  headers: [string, RegExp][];
  /** `metadata` key → value glob. */
  metadata: [string, RegExp][];
  /** Client ids (from tenancy) that match. */
  clients?: string[];
}

export interface RouterSettings {
  /** Retries per target before moving on (a chain's `retries` overrides it). */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Longest retry-after honoured by waiting; also the longest breaker cooldown a retry-after can ask for. */
  maxRetryAfterMs: number;
  breakerFailures: number;
  breakerWindowMs: number;
  breakerCooldownMs: number;
  /** 0 disables active health checks. */
  healthCheckIntervalMs: number;
}

/** `*` matches any run of characters, `?` one; everything else is literal. Case-sensitive, whole string. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

export function resolveRoutes(raw: RawConfig): RouteRule[] {
  return (raw.routes ?? []).map((r, i) => ({
    name: r.name ?? `routes[${i}]`,
    chain: r.chain,
    model: r.match.model === undefined ? undefined : globToRegExp(r.match.model),
    minPromptTokens: r.match.min_prompt_tokens,
    maxPromptTokens: r.match.max_prompt_tokens,
    hasTools: r.match.has_tools,
    hasImages: r.match.has_images,
    headers: Object.entries(r.match.header ?? {}).map(([k, v]) => [k.toLowerCase(), globToRegExp(v)]),
    metadata: Object.entries(r.match.metadata ?? {}).map(([k, v]) => [k, globToRegExp(v)]),
    clients: r.match.client === undefined ? undefined : [r.match.client].flat(),
  }));
}

export function resolveRouterSettings(raw: RawConfig): RouterSettings {
  const r = raw.router ?? {};
  return {
    retries: r.retries ?? 0,
    retryBaseMs: r.retry_base_ms ?? 200,
    retryMaxMs: r.retry_max_ms ?? 5_000,
    maxRetryAfterMs: r.max_retry_after_ms ?? 10_000,
    breakerFailures: r.breaker_failures ?? 5,
    breakerWindowMs: r.breaker_window_ms ?? 30_000,
    breakerCooldownMs: r.breaker_cooldown_ms ?? 30_000,
    healthCheckIntervalMs: r.health_check_interval_ms ?? 0,
  };
}
