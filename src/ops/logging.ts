// Logger configuration for fastify's pino (levels, formats, redaction of secrets) and the one-line-per-request log.
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type { Logger } from '../core/logger.ts';
import type { RequestObserver, RequestRecord } from './observe.ts';
import { prettyStream } from './pretty.ts';

/** Header and field names whose values are secrets, wherever they appear in a log object. */
const SECRET_NAMES = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'set-cookie', 'key', 'apiKey', 'api_key'];
/** Per-request upstream keys are named by the account (`x-flowrouter-upstream-key-<account>`): matched by prefix. */
const SECRET_PREFIX = /^x-flowrouter-upstream-key-/i;
const CENSOR = '[redacted]';

function pathsOf(name: string): string[] {
  const seg = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
  const top = seg.startsWith('.') ? seg.slice(1) : seg;
  // Top level and up to three levels deep (req.headers.authorization, err.config.headers.authorization …).
  return [top, `*${seg}`, `*.*${seg}`, `*.*.*${seg}`];
}

export const REDACT_PATHS: string[] = SECRET_NAMES.flatMap(pathsOf);

/** Replaces values under `x-flowrouter-upstream-key-*` keys (pino's paths cannot express a prefix). */
function maskPrefixed(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const masked = SECRET_PREFIX.test(k) ? CENSOR : maskPrefixed(v, depth + 1);
    if (masked !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = masked;
  }
  return out ?? value;
}

export interface LogSettings {
  level: string;
  format: 'json' | 'pretty';
  /** Where lines go (tests capture them); stdout when omitted. */
  destination?: NodeJS.WritableStream;
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Options for fastify's `logger`: level, redaction and format (pino-pretty when installed, else a built-in pretty stream). */
export function loggerOptions(s: LogSettings): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  const base = {
    level: s.level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    formatters: { log: (obj: Record<string, unknown>) => maskPrefixed(obj) as Record<string, unknown> },
  };
  if (s.format === 'pretty') {
    if (!s.destination && hasPinoPretty())
      return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } };
    return { ...base, stream: prettyStream(s.destination ?? process.stdout) };
  }
  return s.destination ? { ...base, stream: s.destination as unknown as { write(msg: string): void } } : base;
}

/** The fields of the per-request line (latency in ms, tokens flattened so they read well in both formats). */
export function requestLogFields(r: RequestRecord): Record<string, unknown> {
  return {
    reqId: r.requestId,
    ...(r.api && r.api !== 'chat' ? { api: r.api } : {}),
    chain: r.chain,
    target: r.target,
    attempts: r.attempts,
    cache: r.cache,
    model: r.model,
    client: r.client,
    status: r.status,
    stream: r.stream,
    promptTokens: r.usage?.prompt_tokens,
    completionTokens: r.usage?.completion_tokens,
    latencyMs: Math.round(r.durationMs),
    firstByteMs: r.firstByteMs === undefined ? undefined : Math.round(r.firstByteMs),
    error: r.error,
  };
}

/** Logs one line per request once it has ended: info, or warn for 5xx. Pass `app.log`. */
export function requestLogObserver(log: Logger): RequestObserver {
  return {
    onEnd: (r) => {
      const fields = requestLogFields(r);
      if (r.status >= 500) log.warn(fields, `${r.operation} request failed`);
      else log.info(fields, `${r.operation} request`);
    },
  };
}
