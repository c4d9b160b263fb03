// What a caller presents: its client key (Bearer or x-api-key) and, optionally, its own upstream keys for this request only.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountOverride, NodeConfig } from '../config/index.ts';
import { ClientError } from '../core/errors.ts';
import { isProviderType, providerTypes, type ProviderAccount, type ProviderType } from '../providers/index.ts';

type Headers = Record<string, string | string[] | undefined>;

export const UPSTREAM_KEY_HEADER_PREFIX = 'x-flowrouter-upstream-key-';

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The key from `Authorization: Bearer …` (or the password of HTTP Basic, so a browser can open /ui), else `x-api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const auth = first(headers.authorization)?.trim();
  let fromAuth: string | undefined;
  if (auth) {
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const basic = /^Basic\s+(.+)$/i.exec(auth)?.[1];
    if (bearer) fromAuth = bearer;
    else if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      fromAuth = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : undefined;
    }
  }
  const key = fromAuth || first(headers['x-api-key'])?.trim();
  return key || undefined;
}

/** Constant-time equality of two secrets of any length (compares their SHA-256 digests). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Takes the client's own upstream keys out of the headers, so no later step (cache, usage, logs) ever sees them.
 * Returns the headers without them and the keys by provider type.
 */
export function takeUpstreamKeys(headers: Headers): { headers: Headers; keys: Map<ProviderType, string> } {
  const keys = new Map<ProviderType, string>();
  let rest: Headers | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(UPSTREAM_KEY_HEADER_PREFIX)) continue;
    rest ??= { ...headers };
    delete rest[name];
    const provider: ProviderType = name.slice(UPSTREAM_KEY_HEADER_PREFIX.length);
    if (!isProviderType(provider)) {
      throw new ClientError(`${name.slice(0, 64)}: unknown provider; use ${providerTypes().map((p) => UPSTREAM_KEY_HEADER_PREFIX + p).join(', ')}`, { code: 'invalid_upstream_key_header' });
    }
    const key = first(value)?.trim();
    if (key) keys.set(provider, key);
  }
  return { headers: rest ?? headers, keys };
}

/**
 * The per-request account settings: the tenant's accounts, with the client's own upstream keys on top
 * (a client's key for a provider type wins over its tenant's key for any account of that type).
 */
export function accountOverrides(config: NodeConfig, tenant: string | undefined, upstreamKeys: Map<ProviderType, string>): Map<string, AccountOverride> | undefined {
  const tenantAccounts = tenant ? config.tenants.get(tenant)?.accounts : undefined;
  if (!tenantAccounts?.size && upstreamKeys.size === 0) return undefined;
  const out = new Map<string, AccountOverride>(tenantAccounts);
  for (const [type, key] of upstreamKeys) {
    out.set(type, { ...out.get(type), key });
    for (const [name, o] of out) if (config.accounts.get(name)?.type === type) out.set(name, { ...o, key });
  }
  return out;
}

/** The account a request actually uses: the configured one with its overrides (by type, then by account name) applied. */
export function accountFor(account: ProviderAccount, overrides: Map<string, AccountOverride> | undefined): ProviderAccount {
  const byType = overrides?.get(account.type);
  const byName = overrides?.get(account.name);
  if (!byType && !byName) return account;
  return { ...account, ...byType, ...byName, headers: { ...account.headers, ...byType?.headers, ...byName?.headers } };
}
