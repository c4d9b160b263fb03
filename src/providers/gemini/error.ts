// Google error bodies (`{error:{code,message,status,details}}`) → classified UpstreamErrors.
import { UpstreamError, redactSecrets } from '../../core/errors.ts';
import { parseErrorBody, retryAfterMs, upstreamHttpError } from '../classify.ts';

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; reason?: string; retryDelay?: string }[];
}

function googleError(body: string): GoogleError | undefined {
  try {
    const json: unknown = JSON.parse(body);
    const e = (Array.isArray(json) ? json[0] : json)?.error;
    return e && typeof e === 'object' ? (e as GoogleError) : undefined;
  } catch {
    return undefined;
  }
}

/** Classifies a Gemini error response. Google's status names decide where the shared HTTP-status rules cannot. */
export function fromGeminiError(status: number, body: string, headers: Record<string, string>): UpstreamError {
  const g = googleError(body);
  const parsed = parseErrorBody(body);
  // Google messages do not echo keys, but a proxy in between might: mask anything key-shaped.
  const message = redactSecrets(g?.message ?? parsed.message, []);
  const details = Array.isArray(g?.details) ? g.details : [];
  // RetryInfo in the body is how Google says when to come back; a retry-after header still wins.
  const delay = details.find((d) => typeof d?.retryDelay === 'string')?.retryDelay;
  const withRetry = delay && !headers['retry-after'] ? { ...headers, 'retry-after': String(parseFloat(delay)) } : headers;
  const code = g?.status ?? parsed.code;
  const opts = { upstreamStatus: status, retryAfterMs: retryAfterMs(withRetry), code };

  // An invalid key comes back as 400 INVALID_ARGUMENT; it is the gateway's config, not the client's request.
  if (details.some((d) => d?.reason === 'API_KEY_INVALID') || /API key not valid/i.test(message)) {
    return new UpstreamError('auth', `gemini returned ${status}: ${message}`, { ...opts, code: 'invalid_api_key' });
  }
  if (code === 'UNAVAILABLE') return new UpstreamError('overloaded', `gemini returned ${status}: ${message}`, opts);
  if (code === 'RESOURCE_EXHAUSTED') return new UpstreamError('rate_limit', `gemini returned ${status}: ${message}`, opts);
  if (code === 'DEADLINE_EXCEEDED') return new UpstreamError('timeout', `gemini returned ${status}: ${message}`, opts);
  return upstreamHttpError('gemini', status, message, withRetry, { code });
}

/** An `error` object inside a 200 body or stream event: classified by the HTTP code Google puts in it. */
export function fromGeminiInBandError(body: unknown): UpstreamError {
  const text = JSON.stringify(body);
  const code = googleError(text)?.code;
  return fromGeminiError(typeof code === 'number' && code >= 400 ? code : 500, text, {});
}
