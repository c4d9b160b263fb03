// Shared mapping from an upstream HTTP failure to a failure kind, so every provider falls through a chain the same way.
import { UpstreamError, type UpstreamFailureKind } from '../core/errors.ts';

const CONTEXT_PATTERNS = /context[_ ]length|maximum context|too many tokens|prompt is too long|input is too long|exceeds the (maximum|context)|token limit/i;
const OVERLOAD_PATTERNS = /overloaded|capacity|temporarily unavailable|try again later/i;
const QUOTA_PATTERNS = /quota|insufficient_quota|billing|resource[_ ]exhausted|rate[_ ]limit/i;
const CONTENT_POLICY = /content[_ ]policy|content[_ ]filter|safety/i;

/** The longest wait an upstream may ask for: beyond it a retry-after is a bug or an attack, not advice to pass on. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const clamped = (ms: number): number => Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));

/** Parses a `retry-after` header (seconds or HTTP date) or `retry-after-ms` into milliseconds, at most an hour. */
export function retryAfterMs(headers: Record<string, string>): number | null {
  const ms = headers['retry-after-ms'];
  if (ms && Number.isFinite(Number(ms))) return clamped(Number(ms));
  const ra = headers['retry-after'];
  if (!ra) return null;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return clamped(secs * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? clamped(at - Date.now()) : null;
}

export function classifyStatus(status: number, message: string, code?: string): UpstreamFailureKind {
  const text = `${code ?? ''} ${message}`;
  if (status === 429) return 'rate_limit';
  if (status === 529) return 'overloaded';
  if (status === 408) return 'timeout';
  if (status >= 500) return OVERLOAD_PATTERNS.test(text) && status === 503 ? 'overloaded' : 'server';
  if (status === 401 || status === 403) return QUOTA_PATTERNS.test(text) ? 'rate_limit' : 'auth';
  if (status === 402) return 'rate_limit';
  if (CONTEXT_PATTERNS.test(text)) return 'context_length';
  if (status === 400 && QUOTA_PATTERNS.test(code ?? '')) return 'rate_limit';
  return 'client';
}

/** Builds the UpstreamError for an HTTP failure; the message never includes request headers, so never a key. */
export function upstreamHttpError(
  provider: string,
  status: number,
  message: string,
  headers: Record<string, string>,
  opts: { code?: string; type?: string; param?: string | null } = {},
): UpstreamError {
  const kind = classifyStatus(status, message, opts.code ?? opts.type);
  const clean = message.trim().slice(0, 1000) || `HTTP ${status}`;
  const policy = kind === 'client' && CONTENT_POLICY.test(`${opts.code ?? ''} ${clean}`);
  return new UpstreamError(kind, `${provider} returned ${status}: ${clean}`, {
    upstreamStatus: status,
    retryAfterMs: retryAfterMs(headers),
    code: policy ? 'content_policy_violation' : kind === 'context_length' ? 'context_length_exceeded' : opts.code,
    param: opts.param,
  });
}

/** Reads `{error:{message,type,code}}` or `{error:"..."}` or `{message}` out of an error body, falling back to the raw text. */
export function parseErrorBody(body: string): { message: string; type?: string; code?: string; param?: string | null } {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const e = (Array.isArray(json) ? json[0]?.error : json.error) ?? json;
    if (typeof e === 'string') return { message: e };
    if (e && typeof e === 'object') {
      const o = e as Record<string, unknown>;
      return {
        message: typeof o.message === 'string' ? o.message : body,
        type: typeof o.type === 'string' ? o.type : typeof o.status === 'string' ? o.status : undefined,
        code: typeof o.code === 'string' ? o.code : typeof o.status === 'string' ? o.status : undefined,
        param: typeof o.param === 'string' ? o.param : null,
      };
    }
  } catch {
    /* not JSON */
  }
  return { message: body };
}
