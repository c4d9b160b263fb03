// The node-wide sections of the config (server, auth, cache, normalize, usage, prices), with their defaults.
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { optionalText } from './accounts.ts';
import { camelKeys } from './keys.ts';

const MiB = 1024 * 1024;

export const portSchema = z.number().int().min(0).max(65535);

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOWROUTER_DATA_DIR || join(env.HOME || homedir(), '.flowrouter');
}

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(2402),
    data_dir: z.string().optional(),
    body_limit_mb: z.number().positive().max(1024).default(10),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    log_format: z.enum(['json', 'pretty']).default('json'),
    shutdown_grace_ms: z.number().int().min(0).default(10_000),
    /** A Messages or Responses stream quiet this long gets a keep-alive (`ping` event / SSE comment), so proxies keep it open. */
    sse_keepalive_ms: z.number().int().min(100).default(10_000),
  })
  .strict()
  .transform(({ data_dir, body_limit_mb, ...rest }) => ({
    ...camelKeys(rest),
    dataDir: resolvePath(data_dir ?? defaultDataDir()),
    bodyLimitBytes: Math.round(body_limit_mb * MiB),
  }))
  .prefault({});

export type ServerConfig = z.output<typeof serverSchema>;

export const AUTH_MODES = ['none', 'optional', 'required'] as const;
const MIN_ADMIN_KEY_LENGTH = 16;

/** none: no client keys; optional (default): `fr-` keys are checked, other callers are anonymous; required: every /v1 call needs a valid key. */
export const authSchema = z
  .object({
    mode: z.enum(AUTH_MODES).default('optional'),
    /** Absent when not configured: the admin API then stays closed. */
    admin_key: optionalText.pipe(
      z
        .string()
        .min(MIN_ADMIN_KEY_LENGTH, { error: `too short, use at least ${MIN_ADMIN_KEY_LENGTH} random characters` })
        .optional(),
    ),
  })
  .strict()
  .transform((a) => camelKeys(a))
  .prefault({});

export type AuthConfig = z.output<typeof authSchema>;

export const cacheSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** `client` (default): entries are per client key, so tenants never see each other's answers; `shared`: node-wide. */
    scope: z.enum(['client', 'shared']).default('client'),
    ttl_s: z.number().int().min(0).default(3600),
    /** Also cache requests with temperature > 0 (or none, which means the provider default 1). */
    nondeterministic: z.boolean().default(false),
    max_entries: z.number().int().positive().default(10_000),
    max_mb: z.number().positive().default(256),
  })
  .strict()
  .transform(({ max_mb, ...rest }) => ({ ...camelKeys(rest), maxBytes: Math.round(max_mb * MiB) }))
  .prefault({});

export type CacheConfig = z.output<typeof cacheSchema>;

export const normalizeSchema = z
  .object({ enabled: z.boolean().default(true) })
  .strict()
  .prefault({});

export const usageSchema = z
  .object({
    /** `ack`: a request's row is journaled before its response ends (crash-safe); `batch`: only flushed every flush_ms. */
    write: z.enum(['ack', 'batch']).default('ack'),
    flush_ms: z.number().int().positive().default(50),
    /** Days raw ledger rows are kept; older ones are rolled up into daily totals per model, client and target. */
    retention_days: z.number().int().positive().default(90),
  })
  .strict()
  .transform((u) => camelKeys(u))
  .prefault({});

export type UsageConfig = z.output<typeof usageSchema>;

/** Responses API storage: responses are kept (as OpenAI keeps them) so `previous_response_id` can continue a conversation. */
export const responsesSchema = z
  .object({
    /** false: nothing is stored node-wide, whatever a request's `store` says. */
    store: z.boolean().default(true),
    /** Stored responses older than this are deleted. */
    retention_days: z.number().positive().max(3650).default(30),
  })
  .strict()
  .transform((r) => camelKeys(r))
  .prefault({});

export type ResponsesConfig = z.output<typeof responsesSchema>;

/** USD per million tokens by model name, over the bundled table. */
export const pricesSchema = z
  .record(
    z.string(),
    z
      .object({
        input: z.number().min(0),
        output: z.number().min(0),
        cached_input: z.number().min(0).optional(),
        /** USD per 1M prompt tokens written to a provider's prompt cache (Anthropic); defaults to `input`. */
        cache_write: z.number().min(0).optional(),
      })
      .strict()
      .transform((p) => camelKeys(p)),
  )
  .default({});
