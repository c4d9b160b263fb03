// The config file's schema (YAML keys in snake_case): validated once at the edge, unknown keys are errors.
import { z } from 'zod';

const timeouts = z.object({
  connect_ms: z.number().int().positive().optional(),
  first_byte_ms: z.number().int().positive().optional(),
  total_ms: z.number().int().positive().optional(),
}).strict();

export const PROVIDER_TYPES = ['openai', 'azure', 'anthropic', 'gemini', 'local'] as const;

const headers = z.record(z.string(), z.string());

/** What an account carries besides where it is: shared by named accounts and inline targets. */
const credentials = {
  key: z.string().optional(),
  org: z.string().optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  api_version: z.string().optional(),
  headers: headers.optional(),
  timeouts: timeouts.optional(),
};

/** A named provider account, reusable across chains. */
export const accountSchema = z.object({
  type: z.enum(PROVIDER_TYPES),
  base_url: z.string().url().optional(),
  ...credentials,
}).strict();

/** One target of a chain: a provider account (named or inline) plus a model, or the offline knowledge answerer. */
export const targetSchema = z.object({
  model: z.string().min(1).optional(),
  /** A provider type (inline account), the name of an account under `providers:`, or `knowledge`. */
  provider: z.string().min(1),
  url: z.string().url().optional(),
  ...credentials,
  /** Name shown in headers, logs and status (defaults to `<chain>/<provider>/<model>`). */
  name: z.string().min(1).optional(),
  weight: z.number().positive().optional(),
  context_window: z.number().int().positive().optional(),
  quality: z.number().int().min(0).max(10).optional(),
  max_concurrency: z.number().int().positive().optional(),
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  /** For `provider: knowledge`: which collection answers. */
  collection: z.string().optional(),
}).strict();

export const STRATEGIES = ['priority', 'round-robin', 'weighted', 'least-latency', 'cost'] as const;

export const chainSchema = z.union([
  z.array(targetSchema).min(1),
  z.object({
    strategy: z.enum(STRATEGIES).optional(),
    targets: z.array(targetSchema).min(1),
    /** For `cost`: the slowest recent p95 (ms) and lowest quality tier a target may have. */
    max_p95_ms: z.number().positive().optional(),
    min_quality: z.number().int().min(0).max(10).optional(),
    retries: z.number().int().min(0).max(10).optional(),
    /** On a context-length error, go on only to targets with a larger `context_window` than the failing one. */
    context_fallback: z.boolean().optional(),
    cache_ttl_s: z.number().int().min(0).optional(),
    rag: z.object({ collection: z.string(), top_k: z.number().int().positive().optional(), token_budget: z.number().int().positive().optional() }).strict().optional(),
    /** Model comparison: a sample of this chain's traffic is also sent to a candidate target (a target id or an inline target). */
    shadow: z.object({
      target: z.union([z.string().min(1), targetSchema]),
      sample: z.number().min(0).max(1).optional(),
      judge: z.string().min(1).optional(),
    }).strict().optional(),
  }).strict(),
]);

export const routeSchema = z.object({
  name: z.string().optional(),
  chain: z.string().min(1),
  match: z.object({
    model: z.string().optional(),
    min_prompt_tokens: z.number().int().min(0).optional(),
    max_prompt_tokens: z.number().int().min(0).optional(),
    has_tools: z.boolean().optional(),
    has_images: z.boolean().optional(),
    header: z.record(z.string(), z.string()).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    client: z.union([z.string(), z.array(z.string())]).optional(),
  }).strict(),
}).strict();

/** Tenant-specific settings for one provider account: only what differs (key, org/project, Azure resource…). */
export const tenantAccountSchema = z.object({
  key: z.string().optional(),
  base_url: z.string().url().optional(),
  org: z.string().optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  api_version: z.string().optional(),
  headers: headers.optional(),
}).strict();

export const AUTH_MODES = ['none', 'optional', 'required'] as const;

export const configSchema = z.object({
  server: z.object({
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    data_dir: z.string().optional(),
    body_limit_mb: z.number().positive().max(1024).optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    log_format: z.enum(['json', 'pretty']).optional(),
    shutdown_grace_ms: z.number().int().min(0).optional(),
  }).strict().optional(),
  providers: z.record(z.string(), accountSchema).optional(),
  chains: z.record(z.string(), chainSchema),
  routes: z.array(routeSchema).optional(),
  router: z.object({
    retries: z.number().int().min(0).max(10).optional(),
    retry_base_ms: z.number().int().min(0).optional(),
    retry_max_ms: z.number().int().min(0).optional(),
    breaker_failures: z.number().int().positive().optional(),
    breaker_window_ms: z.number().int().positive().optional(),
    breaker_cooldown_ms: z.number().int().positive().optional(),
    /** A retry-after longer than this is not waited for: the target is skipped and its breaker cools down that long (capped). */
    max_retry_after_ms: z.number().int().min(0).optional(),
    health_check_interval_ms: z.number().int().min(0).optional(),
  }).strict().optional(),
  /** none: no client keys; optional (default): `fr-` keys are checked, other callers are anonymous; required: every /v1 call needs a valid key. */
  auth: z.object({
    mode: z.enum(AUTH_MODES).optional(),
    admin_key: z.string().optional(),
  }).strict().optional(),
  /** Tenants keyed by name; a client key names its tenant. `accounts` maps a provider account name (or type) to the tenant's own. */
  tenants: z.record(z.string(), z.object({
    accounts: z.record(z.string(), tenantAccountSchema).optional(),
  }).strict()).optional(),
  cache: z.object({
    enabled: z.boolean().optional(),
    ttl_s: z.number().int().min(0).optional(),
    /** Also cache requests with temperature > 0 (or none, which means the provider default 1). */
    nondeterministic: z.boolean().optional(),
    max_entries: z.number().int().positive().optional(),
    max_mb: z.number().positive().optional(),
    /** `client` (default): entries are per client key, so tenants never see each other's answers; `shared`: node-wide. */
    scope: z.enum(['client', 'shared']).optional(),
  }).strict().optional(),
  normalize: z.object({ enabled: z.boolean().optional() }).strict().optional(),
  usage: z.object({
    /** `ack`: a request's row is journaled before its response ends (crash-safe); `batch`: only flushed every flush_ms. */
    write: z.enum(['ack', 'batch']).optional(),
    flush_ms: z.number().int().positive().optional(),
    /** Days raw ledger rows are kept; older ones are rolled up into daily totals per model, client and target. */
    retention_days: z.number().int().positive().optional(),
  }).strict().optional(),
  mesh: z.object({
    enabled: z.boolean().optional(),
    /** A readable name shown to peers (defaults to the host name). */
    name: z.string().min(1).max(64).optional(),
    /** libp2p listen multiaddrs; default /ip4/0.0.0.0/tcp/<port>. */
    listen: z.array(z.string().startsWith('/')).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    bootstrap: z.array(z.string().startsWith('/')).optional(),
    mdns: z.boolean().optional(),
    /** The pre-shared key written by `flowrouter mesh init` (relative paths are inside the data directory). */
    secret_file: z.string().optional(),
    /** Peer ids allowed to connect; empty or absent means every holder of the secret. */
    allowlist: z.array(z.string().min(1)).optional(),
    /** Forward requests to peers when every local target failed or none serves the model. */
    forward: z.boolean().optional(),
    forward_timeout_ms: z.number().int().positive().optional(),
    /** Replicate the knowledge base (on by default with the mesh) and response-cache entries (off by default). */
    replicate_knowledge: z.boolean().optional(),
    replicate_cache: z.boolean().optional(),
    sync_interval_ms: z.number().int().positive().optional(),
    tombstone_horizon_ms: z.number().int().positive().optional(),
  }).strict().optional(),
  prices: z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0), cached_input: z.number().min(0).optional() }).strict()).optional(),
}).strict();

export type RawConfig = z.infer<typeof configSchema>;
export type RawTarget = z.infer<typeof targetSchema>;
export type RawAccount = z.infer<typeof accountSchema>;
export type RawTenantAccount = z.infer<typeof tenantAccountSchema>;
