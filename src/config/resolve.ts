// Turns validated config data into the typed objects the node runs on: provider accounts, chains of targets, routes.
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { ProviderAccount, ProviderType, Timeouts } from '../providers/types.ts';
import { ConfigError } from './load.ts';
import { resolveRouterSettings, resolveRoutes, type RouteRule, type RouterSettings } from './routing.ts';
import { PROVIDER_TYPES, type RawAccount, type RawConfig, type RawTarget, type RawTenantAccount } from './schema.ts';

export type Strategy = 'priority' | 'round-robin' | 'weighted' | 'least-latency' | 'cost';

export interface TargetConfig {
  /** Stable, readable id: the target's `name`, or `<chain>/<provider>/<model>`. */
  id: string;
  kind: 'provider' | 'knowledge';
  /** Upstream model; `*` means the model the client asked for. */
  model: string;
  /** Absent for `knowledge` targets. */
  account?: ProviderAccount;
  collection?: string;
  weight: number;
  contextWindow?: number;
  quality?: number;
  maxConcurrency?: number;
  rpm?: number;
  tpm?: number;
}

export interface ChainConfig {
  name: string;
  strategy: Strategy;
  targets: TargetConfig[];
  maxP95Ms?: number;
  minQuality?: number;
  retries?: number;
  /** A context-length failure may go on to a target with a larger context window. */
  contextFallback: boolean;
  cacheTtlS?: number;
  rag?: { collection: string; topK?: number; tokenBudget?: number };
  shadow?: ShadowConfig;
}

/** A chain's model comparison: `sample` of its traffic also goes to `target`, optionally scored by the `judge` chain. */
export interface ShadowConfig {
  target: TargetConfig;
  sample: number;
  judge?: string;
}

export interface CacheConfig {
  enabled: boolean;
  scope: 'client' | 'shared';
  ttlS: number;
  nondeterministic: boolean;
  maxEntries: number;
  maxBytes: number;
}

export interface UsageConfig {
  write: 'ack' | 'batch';
  flushMs: number;
  retentionDays: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  bodyLimitBytes: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  shutdownGraceMs: number;
}

export interface AuthConfig {
  mode: 'none' | 'optional' | 'required';
  /** Absent when not configured: the admin API then stays closed. */
  adminKey?: string;
}

/** A provider account's tenant-specific settings, applied over the configured account for that tenant's requests. */
export type AccountOverride = Partial<Pick<ProviderAccount, 'key' | 'baseUrl' | 'org' | 'project' | 'deployment' | 'apiVersion' | 'headers'>>;

export interface TenantConfig {
  name: string;
  /** Keyed by provider account name (under `providers:`) or provider type (every account of that type). */
  accounts: Map<string, AccountOverride>;
}

export interface MeshConfig {
  enabled: boolean;
  name?: string;
  listen: string[];
  bootstrap: string[];
  mdns: boolean;
  /** Absolute path of the pre-shared key; absent means no private network (then use an allowlist). */
  secretFile?: string;
  allowlist: string[];
  forward: boolean;
  forwardTimeoutMs: number;
  replicateKnowledge: boolean;
  replicateCache: boolean;
  syncIntervalMs: number;
  tombstoneHorizonMs: number;
}

export const DEFAULT_MESH_PORT = 2403;

export interface NodeConfig {
  /** Where the config came from (a path, or `(embedded default)`). */
  source: string;
  server: ServerConfig;
  accounts: Map<string, ProviderAccount>;
  chains: Map<string, ChainConfig>;
  mesh: MeshConfig;
  auth: AuthConfig;
  tenants: Map<string, TenantConfig>;
  /** Route rules in file order: the first match picks the chain. */
  routes: RouteRule[];
  router: RouterSettings;
  cache: CacheConfig;
  normalize: { enabled: boolean };
  usage: UsageConfig;
  raw: RawConfig;
}

const MIN_ADMIN_KEY_LENGTH = 16;

function authOf(raw: RawConfig['auth']): AuthConfig {
  const adminKey = raw?.admin_key || undefined;
  if (adminKey && adminKey.length < MIN_ADMIN_KEY_LENGTH) throw new ConfigError(`auth.admin_key: too short, use at least ${MIN_ADMIN_KEY_LENGTH} random characters`);
  return { mode: raw?.mode ?? 'optional', adminKey };
}

function overrideOf(a: RawTenantAccount): AccountOverride {
  const o: AccountOverride = { key: a.key, baseUrl: a.base_url, org: a.org, project: a.project, deployment: a.deployment, apiVersion: a.api_version, headers: a.headers };
  for (const k of Object.keys(o) as (keyof AccountOverride)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function tenantsOf(raw: RawConfig['tenants'], accounts: Map<string, ProviderAccount>): Map<string, TenantConfig> {
  const tenants = new Map<string, TenantConfig>();
  for (const [name, t] of Object.entries(raw ?? {})) {
    const overrides = new Map<string, AccountOverride>();
    for (const [account, a] of Object.entries(t.accounts ?? {})) {
      if (!accounts.has(account) && !isProviderType(account)) {
        throw new ConfigError(`tenants.${name}.accounts.${account}: neither an account under providers: nor a provider type (${PROVIDER_TYPES.join(', ')})`);
      }
      overrides.set(account, overrideOf(a));
    }
    tenants.set(name, { name, accounts: overrides });
  }
  return tenants;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, firstByteMs: 60_000, totalMs: 600_000 };

function timeoutsOf(t: RawAccount['timeouts'] | undefined, base: Timeouts = DEFAULT_TIMEOUTS): Timeouts {
  return {
    connectMs: t?.connect_ms ?? base.connectMs,
    firstByteMs: t?.first_byte_ms ?? base.firstByteMs,
    totalMs: t?.total_ms ?? base.totalMs,
  };
}

function accountOf(name: string, a: RawAccount): ProviderAccount {
  if (a.type === 'azure' && !a.base_url) throw new ConfigError(`providers.${name}: an azure account needs base_url (https://<resource>.openai.azure.com)`);
  return {
    name,
    type: a.type,
    baseUrl: a.base_url ?? '',
    key: a.key,
    org: a.org,
    project: a.project,
    deployment: a.deployment,
    apiVersion: a.api_version,
    headers: a.headers ?? {},
    timeouts: timeoutsOf(a.timeouts),
  };
}

function isProviderType(s: string): s is ProviderType {
  return (PROVIDER_TYPES as readonly string[]).includes(s);
}

function targetOf(chain: string, index: number, t: RawTarget, accounts: Map<string, ProviderAccount>): TargetConfig {
  const where = `chains.${chain}[${index}]`;
  const common = {
    weight: t.weight ?? 1,
    contextWindow: t.context_window,
    quality: t.quality,
    maxConcurrency: t.max_concurrency,
    rpm: t.rpm,
    tpm: t.tpm,
  };
  if (t.provider === 'knowledge') {
    return { ...common, id: t.name ?? `${chain}/knowledge/${t.collection ?? 'default'}`, kind: 'knowledge', model: t.model ?? 'knowledge', collection: t.collection ?? 'default' };
  }
  if (!t.model) throw new ConfigError(`${where}: model is required`);
  let account: ProviderAccount;
  const named = accounts.get(t.provider);
  if (named) {
    // A named account may be specialised per target (another deployment, key or URL).
    account = {
      ...named,
      baseUrl: t.url ?? named.baseUrl,
      key: t.key ?? named.key,
      org: t.org ?? named.org,
      project: t.project ?? named.project,
      deployment: t.deployment ?? named.deployment,
      apiVersion: t.api_version ?? named.apiVersion,
      headers: { ...named.headers, ...(t.headers ?? {}) },
      timeouts: timeoutsOf(t.timeouts, named.timeouts),
    };
  } else if (isProviderType(t.provider)) {
    if (t.provider === 'azure' && !t.url) throw new ConfigError(`${where}: an azure target needs url (https://<resource>.openai.azure.com)`);
    account = {
      name: `${chain}[${index}]`,
      type: t.provider,
      baseUrl: t.url ?? '',
      key: t.key,
      org: t.org,
      project: t.project,
      deployment: t.deployment,
      apiVersion: t.api_version,
      headers: t.headers ?? {},
      timeouts: timeoutsOf(t.timeouts),
    };
  } else {
    throw new ConfigError(`${where}.provider: "${t.provider}" is neither a provider type (${PROVIDER_TYPES.join(', ')}, knowledge) nor an account under providers:`);
  }
  return { ...common, id: t.name ?? `${chain}/${t.provider}/${t.model}`, kind: 'provider', model: t.model, account };
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOWROUTER_DATA_DIR || join(env.HOME || homedir(), '.flowrouter');
}

/** Builds the node's config; `overrides` (flags and FLOWROUTER_* variables) win over the file. */
function meshOf(raw: RawConfig['mesh'], dataDir: string, overrides: { meshPort?: number; bootstrap?: string[] }): MeshConfig {
  const m = raw ?? {};
  const port = overrides.meshPort ?? m.port ?? DEFAULT_MESH_PORT;
  const secret = m.secret_file;
  if (raw !== undefined && (m.enabled ?? true) && secret === undefined && !m.allowlist?.length) {
    // A stranger on the LAN must never be able to join: a shared secret, an allowlist of peer ids, or both.
    throw new ConfigError('mesh: set secret_file (create it with `flowrouter mesh init`) or an allowlist of peer ids, or both; an open mesh is refused');
  }
  return {
    enabled: m.enabled ?? (raw !== undefined),
    name: m.name,
    listen: overrides.meshPort !== undefined || !m.listen ? [`/ip4/0.0.0.0/tcp/${port}`] : m.listen,
    bootstrap: overrides.bootstrap?.length ? overrides.bootstrap : m.bootstrap ?? [],
    mdns: m.mdns ?? true,
    secretFile: secret === undefined ? undefined : resolvePath(dataDir, secret),
    allowlist: m.allowlist ?? [],
    forward: m.forward ?? true,
    forwardTimeoutMs: m.forward_timeout_ms ?? 120_000,
    replicateKnowledge: m.replicate_knowledge ?? true,
    replicateCache: m.replicate_cache ?? false,
    syncIntervalMs: m.sync_interval_ms ?? 30_000,
    tombstoneHorizonMs: m.tombstone_horizon_ms ?? 7 * 24 * 3600_000,
  };
}

export function resolveConfig(raw: RawConfig, source: string, overrides: { host?: string; port?: number; dataDir?: string; meshPort?: number; bootstrap?: string[] } = {}): NodeConfig {
  const accounts = new Map<string, ProviderAccount>();
  for (const [name, a] of Object.entries(raw.providers ?? {})) {
    if (name === 'knowledge' || isProviderType(name) && a.type !== name) {
      throw new ConfigError(`providers.${name}: an account may not be named after another provider type or "knowledge"`);
    }
    accounts.set(name, accountOf(name, a));
  }
  const chains = new Map<string, ChainConfig>();
  for (const [name, c] of Object.entries(raw.chains)) {
    const list = Array.isArray(c) ? c : c.targets;
    const targets = list.map((t, i) => targetOf(name, i, t, accounts));
    const ids = new Set<string>();
    for (const t of targets) {
      if (ids.has(t.id)) throw new ConfigError(`chains.${name}: two targets share the id "${t.id}"; give one a name:`);
      ids.add(t.id);
    }
    const opts: Exclude<RawConfig['chains'][string], unknown[]> | undefined = Array.isArray(c) ? undefined : c;
    chains.set(name, {
      name,
      strategy: opts?.strategy ?? 'priority',
      targets,
      maxP95Ms: opts?.max_p95_ms,
      minQuality: opts?.min_quality,
      retries: opts?.retries,
      contextFallback: opts?.context_fallback ?? false,
      cacheTtlS: opts?.cache_ttl_s,
      rag: opts?.rag ? { collection: opts.rag.collection, topK: opts.rag.top_k, tokenBudget: opts.rag.token_budget } : undefined,
    });
  }
  for (const [name, c] of Object.entries(raw.chains)) {
    if (Array.isArray(c) || !c.shadow) continue;
    chains.get(name)!.shadow = shadowOf(name, c.shadow, chains, accounts);
  }
  for (const [i, r] of (raw.routes ?? []).entries()) {
    if (!chains.has(r.chain)) throw new ConfigError(`routes[${i}].chain: no chain named "${r.chain}"`);
  }
  const s = raw.server ?? {};
  return {
    source,
    server: {
      host: overrides.host ?? s.host ?? '127.0.0.1',
      port: overrides.port ?? s.port ?? 2402,
      dataDir: resolvePath(overrides.dataDir ?? s.data_dir ?? defaultDataDir()),
      bodyLimitBytes: Math.round((s.body_limit_mb ?? 10) * 1024 * 1024),
      logLevel: s.log_level ?? 'info',
      logFormat: s.log_format ?? 'json',
      shutdownGraceMs: s.shutdown_grace_ms ?? 10_000,
    },
    accounts,
    chains,
    mesh: meshOf(raw.mesh, resolvePath(overrides.dataDir ?? s.data_dir ?? defaultDataDir()), overrides),
    auth: authOf(raw.auth),
    tenants: tenantsOf(raw.tenants, accounts),
    routes: resolveRoutes(raw),
    router: resolveRouterSettings(raw),
    cache: {
      enabled: raw.cache?.enabled ?? true,
      scope: raw.cache?.scope ?? 'client',
      ttlS: raw.cache?.ttl_s ?? 3600,
      nondeterministic: raw.cache?.nondeterministic ?? false,
      maxEntries: raw.cache?.max_entries ?? 10_000,
      maxBytes: Math.round((raw.cache?.max_mb ?? 256) * 1024 * 1024),
    },
    normalize: { enabled: raw.normalize?.enabled ?? true },
    usage: { write: raw.usage?.write ?? 'ack', flushMs: raw.usage?.flush_ms ?? 50, retentionDays: raw.usage?.retention_days ?? 90 },
    raw,
  };
}

type RawShadow = NonNullable<Exclude<RawConfig['chains'][string], unknown[]>['shadow']>;

/** The shadow target is another target's id (of any chain, or an inline shadow target named before) or an inline target spec. */
function shadowOf(chain: string, s: RawShadow, chains: Map<string, ChainConfig>, accounts: Map<string, ProviderAccount>): ShadowConfig {
  let target: TargetConfig | undefined;
  if (typeof s.target === 'string') {
    for (const c of chains.values()) target ??= c.targets.find((t) => t.id === s.target) ?? (c.shadow?.target.id === s.target ? c.shadow.target : undefined);
    if (!target) throw new ConfigError(`chains.${chain}.shadow.target: no target has the id "${s.target}"`);
  } else {
    target = targetOf(`${chain}.shadow`, 0, s.target, accounts);
  }
  if (s.judge && !chains.has(s.judge)) throw new ConfigError(`chains.${chain}.shadow.judge: no chain named "${s.judge}"`);
  return { target, sample: s.sample ?? 0.1, judge: s.judge };
}

/** Every name a client may ask for: each chain's name and each concrete model its targets serve (`*` is not one). */
export function servedModels(config: Pick<NodeConfig, 'chains'>): string[] {
  const ids = new Set<string>();
  for (const chain of config.chains.values()) {
    ids.add(chain.name);
    for (const t of chain.targets) if (t.model !== '*') ids.add(t.model);
  }
  return [...ids];
}
