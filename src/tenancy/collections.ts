// Which knowledge collections a client may retrieve from: its key's grant inside its tenant's, checked where RAG picks one.
import type { NodeConfig, TenantConfig } from '../config/index.ts';
import { ClientError, PermissionError } from '../core/errors.ts';
import type { ClientInfo } from '../pipeline/index.ts';
import type { KeyRecord } from './keys.ts';

/** Exact names, or a prefix with a trailing `*` (the same rule as a key's `models`). */
export function patternsAllow(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

/** Whether every name a key pattern can match is also matched by the tenant's patterns. */
function covered(keyPattern: string, tenantPatterns: readonly string[]): boolean {
  if (!keyPattern.endsWith('*')) return patternsAllow(tenantPatterns, keyPattern);
  const prefix = keyPattern.slice(0, -1);
  return tenantPatterns.some((p) => p.endsWith('*') && prefix.startsWith(p.slice(0, -1)));
}

/** Refuses, when a key is created, collections its tenant does not grant (they would never work). */
export function checkKeyCollections(collections: readonly string[] | undefined, tenant: TenantConfig | undefined): void {
  if (!collections || !tenant?.collections) return;
  const outside = collections.filter((c) => !covered(c, tenant.collections!));
  if (outside.length) {
    throw new ClientError(
      `collections ${outside.map((c) => `"${c.slice(0, 64)}"`).join(', ')} are outside tenant "${tenant.name}"'s collections (${tenant.collections.join(', ')})`,
      { param: 'collections' },
    );
  }
}

/** Throws 403 collection_not_allowed unless both the key's grant and its tenant's (where set) allow `collection`. */
export function checkCollection(key: KeyRecord, tenant: TenantConfig | undefined, collection: string): void {
  for (const [patterns, holder] of [
    [key.collections, `key "${key.name}"`],
    [tenant?.collections, `tenant "${tenant?.name}"`],
  ] as const) {
    if (patterns && !patternsAllow(patterns, collection)) {
      throw new PermissionError(
        `The ${holder} may not read the knowledge collection "${collection.slice(0, 100)}"; allowed: ${patterns.join(', ')}`,
        'collection_not_allowed',
      );
    }
  }
}

/**
 * The collection RAG retrieves from for one request, given what was asked and who asks. Anonymous callers keep
 * today's behaviour. For a client key: a collection the request names must be granted; a collection the operator
 * configured (a chain's `rag:`) is allowed, and a tenant's `rag_collection` replaces it.
 */
export type RagCollectionPolicy = (requested: string, client: ClientInfo | undefined, configured: boolean) => string;

export function ragCollectionPolicy(policyOf: (client: ClientInfo | undefined) => KeyRecord | undefined, config: () => NodeConfig): RagCollectionPolicy {
  return (requested, client, configured) => {
    const key = policyOf(client);
    if (!key) return requested;
    const tenant = key.tenant ? config().tenants.get(key.tenant) : undefined;
    if (configured) return tenant?.ragCollection ?? requested;
    checkCollection(key, tenant, requested);
    return requested;
  };
}

/**
 * Which collections a client may read where the operator left the choice open (a `knowledge` target without a
 * collection): undefined for callers without a grant (every collection), else a test of its key's and tenant's grants.
 */
export function readableCollections(policyOf: (client: ClientInfo | undefined) => KeyRecord | undefined, config: () => NodeConfig) {
  return (client: ClientInfo | undefined): ((collection: string) => boolean) | undefined => {
    const key = policyOf(client);
    const tenant = key?.tenant ? config().tenants.get(key.tenant) : undefined;
    const grants = [key?.collections, tenant?.collections].filter((g): g is string[] => g !== undefined && g !== null);
    if (grants.length === 0) return undefined;
    return (collection) => grants.every((g) => patternsAllow(g, collection));
  };
}
