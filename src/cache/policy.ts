// What the cache may do with one request: from the config, the chain, the request's headers and its `flowrouter` field.
import type { ChatRequest } from '../core/openai.ts';
import type { CacheDirectives } from '../pipeline/index.ts';

export interface CachePolicy {
  /** Look the request up (false for `no-cache`: refresh the entry). */
  read: boolean;
  /** Store the answer (false for `no-store` and for uncacheable requests). */
  write: boolean;
  ttlS: number;
}

export interface PolicyDefaults {
  ttlS: number;
  /** Cache requests whose temperature is above 0 (or unset, i.e. the provider default 1). */
  nondeterministic: boolean;
}

interface Directives extends CacheDirectives {
  force?: boolean;
}

/** The edge's header directives (`cache-control`, `x-flowrouter-cache-ttl`) with the body's `{"flowrouter":{"cache":…}}` on top. */
function directivesOf(req: ChatRequest, edge: CacheDirectives): Directives {
  const d: Directives = { ...edge, force: edge.ttlS !== undefined };
  const field = req.flowrouter?.cache;
  if (field === 'no-cache') d.noCache = true;
  else if (field === 'no-store' || field === false) d.noStore = true;
  else if (field && typeof field === 'object') {
    const ttl = (field as { ttl?: unknown }).ttl;
    if (typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0) {
      d.ttlS = Math.floor(ttl);
      d.force = true;
    }
  }
  return d;
}

/** The provider default temperature is 1: a request without one is non-deterministic. */
export function isDeterministic(req: ChatRequest): boolean {
  return (req.temperature ?? 1) === 0;
}

/**
 * A per-request TTL (header or field) is an explicit opt-in and also forces caching of a non-deterministic request;
 * a TTL of 0 means "don't store".
 */
export function cachePolicy(req: ChatRequest, edge: CacheDirectives, defaults: PolicyDefaults, chainTtlS?: number): CachePolicy {
  const d = directivesOf(req, edge);
  const ttlS = d.ttlS ?? chainTtlS ?? defaults.ttlS;
  const eligible = d.force || defaults.nondeterministic || isDeterministic(req);
  return { read: eligible && !d.noCache && !d.noStore, write: eligible && !d.noStore && ttlS > 0, ttlS };
}
