// Provider accounts: one set of fields (key, org, Azure deployment, headers, timeouts) for named accounts, inline targets and tenants.
import { z } from 'zod';
import { isProviderType, providers, providerTypes } from '../providers/registry.ts';
import { camelKeys, definedKeys, type CamelKeys } from './keys.ts';

/** An optional string where a key left empty (YAML null) or an empty `${VAR:-}` means none. */
export const optionalText = z
  .string()
  .nullish()
  .transform((v) => v || undefined);

export const urlSchema = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8080/v1' });

/** A registered provider type: checked against the registry when a config is parsed, so a registered type is valid. */
export const providerTypeSchema = z.string().refine(isProviderType, { error: () => `expected one of ${providerTypes().join(', ')}` });

const ms = z.number().int().positive();
export const timeoutsSchema = z
  .object({
    connect_ms: ms.optional(),
    /** Until the response headers (and, for streams, the first event) arrive. */
    first_byte_ms: ms.optional(),
    /** The whole exchange, body included. */
    total_ms: ms.optional(),
  })
  .strict()
  .transform((t) => definedKeys(camelKeys(t)));

export type Timeouts = Required<z.output<typeof timeoutsSchema>>;
export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, firstByteMs: 60_000, totalMs: 600_000 };

/** What an account carries besides where it is. */
export const credentialFields = {
  key: optionalText,
  org: optionalText,
  project: optionalText,
  /** Azure deployment name (defaults to the target's model). */
  deployment: optionalText,
  /** Azure `api-version`, Anthropic `anthropic-version`. */
  api_version: optionalText,
  headers: z.record(z.string(), z.string()).optional(),
};
type CredentialInput = z.output<z.ZodObject<typeof credentialFields>>;
type CredentialKey = keyof CredentialInput;
const CREDENTIAL_KEYS = Object.keys(credentialFields) as CredentialKey[];
export type Credentials = { [K in keyof CamelKeys<CredentialInput>]?: Exclude<CamelKeys<CredentialInput>[K], undefined> };

/** Splits an object into the credentials it gives (camelCased, absent ones left out) and everything else. */
export function splitCredentials<T extends CredentialInput>(o: T): [Credentials, Omit<T, CredentialKey>] {
  const given: Partial<CredentialInput> = {};
  const rest: Record<string, unknown> = { ...o };
  for (const k of CREDENTIAL_KEYS) {
    given[k] = o[k] as never;
    delete rest[k];
  }
  return [definedKeys(camelKeys(given)) as Credentials, rest as Omit<T, CredentialKey>];
}

/** Why an account of a provider with no public API (Azure) needs a URL; undefined when it has one or needs none. */
export function missingUrl(type: string, url: string | undefined, key: string): string | undefined {
  const p = providers[type];
  if (!p || p.defaultBaseUrl || url) return undefined;
  return `required: ${p.type} has no public API, give ${key}${p.baseUrlExample ? ` (${p.baseUrlExample})` : ''}`;
}

/** Where and how to call one upstream, from its type, URL, credentials and timeouts. */
export function accountOf(
  name: string,
  type: string,
  baseUrl: string | undefined,
  credentials: Credentials,
  timeouts: Partial<Timeouts> | undefined,
  base?: ProviderAccount,
): ProviderAccount {
  return {
    ...base,
    name,
    type,
    baseUrl: baseUrl ?? base?.baseUrl ?? '',
    ...credentials,
    headers: { ...base?.headers, ...credentials.headers },
    timeouts: { ...(base?.timeouts ?? DEFAULT_TIMEOUTS), ...timeouts },
  };
}

/** A named provider account under `providers:`, reusable across chains. */
export const accountSchema = z
  .object({
    type: providerTypeSchema,
    base_url: urlSchema.optional(),
    ...credentialFields,
    timeouts: timeoutsSchema.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const message = missingUrl(a.type, a.base_url, 'base_url');
    if (message) ctx.addIssue({ code: 'custom', path: ['base_url'], message });
  })
  .transform(({ type, base_url, timeouts, ...rest }) => ({ type, baseUrl: base_url, timeouts, credentials: splitCredentials(rest)[0] }));

/** A provider account after config resolution: where and how to call one upstream. */
export interface ProviderAccount extends Credentials {
  name: string;
  type: string;
  /** Empty: the provider's public API. */
  baseUrl: string;
  headers: Record<string, string>;
  timeouts: Timeouts;
}

/** A tenant's settings for one provider account: only what differs (key, org/project, Azure resource…). */
export const accountOverrideSchema = z
  .object({
    base_url: urlSchema.optional(),
    ...credentialFields,
  })
  .strict()
  .transform(({ base_url, ...rest }) => ({ ...definedKeys({ baseUrl: base_url }), ...splitCredentials(rest)[0] }));

export type AccountOverride = z.output<typeof accountOverrideSchema>;

/** Tenants keyed by name; a client key names its tenant. `accounts` maps an account name (or a provider type) to the tenant's own. */
export const tenantsSchema = z
  .record(
    z.string(),
    z
      .object({
        accounts: z.record(z.string(), accountOverrideSchema).default({}),
        /** Knowledge collections the tenant's keys may retrieve from (a trailing * matches a prefix); absent: all. */
        collections: z.array(z.string().min(1)).optional(),
        /** The collection retrieved from for this tenant where a chain's `rag:` names its own. */
        rag_collection: z.string().min(1).optional(),
      })
      .strict()
      .superRefine((t, ctx) => {
        const granted = (c: string) => t.collections!.some((p) => (p.endsWith('*') ? c.startsWith(p.slice(0, -1)) : p === c));
        if (t.rag_collection !== undefined && t.collections && !granted(t.rag_collection)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rag_collection'],
            message: `"${t.rag_collection}" is not among its collections (${t.collections.join(', ')})`,
          });
        }
      })
      .transform(({ rag_collection, ...t }) => ({ ...t, ragCollection: rag_collection })),
  )
  .default({});
