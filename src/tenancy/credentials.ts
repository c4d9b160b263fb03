// What a caller presents: its client key (Bearer or x-api-key); and the accounts its request uses (tenant accounts, its own upstream keys).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountOverride, NodeConfig } from '../config/index.ts';
import type { ProviderAccount } from '../providers/index.ts';

type Headers = Record<string, string | string[] | undefined>;

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
 * The per-request account settings: the tenant's accounts, with the client's own upstream keys on top
 * (a client's key for a provider type wins over its tenant's key for any account of that type).
 */
export function accountOverrides(
  config: NodeConfig,
  tenant: string | undefined,
  upstreamKeys: ReadonlyMap<string, string>,
): Map<string, AccountOverride> | undefined {
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
