// Anthropic error bodies (`{type:'error',error:{type,message}}`), over HTTP or in-band in a stream, → classified UpstreamError.
import { UpstreamError } from '../../core/errors.ts';
import { parseErrorBody, upstreamHttpError } from '../classify.ts';

/** The HTTP status Anthropic uses for each error type; lets an in-band stream error be classified like an HTTP one. */
const STATUS_FOR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

function classified(status: number, message: string, type: string | undefined, headers: Record<string, string>, who = 'anthropic'): UpstreamError {
  const err = upstreamHttpError(who, status, message, headers, { type, code: type });
  // Anthropic sometimes reports overload with a plain 5xx status; the error type is the reliable signal.
  if (type === 'overloaded_error' && err.kind !== 'overloaded') {
    return new UpstreamError('overloaded', err.message, { upstreamStatus: status, retryAfterMs: err.retryAfterMs, code: type });
  }
  return err;
}

export function fromAnthropicError(status: number, body: string, headers: Record<string, string>): UpstreamError {
  const e = parseErrorBody(body);
  return classified(status, e.message, e.type, headers);
}

/** An `error` event that arrived after the 200, e.g. `{type:'error',error:{type:'overloaded_error',message:'Overloaded'}}`. */
export function fromAnthropicStreamError(data: unknown): UpstreamError {
  const error = (data as { error?: { type?: unknown; message?: unknown } } | null)?.error;
  const type = typeof error?.type === 'string' ? error.type : 'api_error';
  const message = typeof error?.message === 'string' ? error.message : 'error event in stream';
  return classified(STATUS_FOR_TYPE[type] ?? 500, message, type, {}, 'anthropic (error event mid-stream)');
}
