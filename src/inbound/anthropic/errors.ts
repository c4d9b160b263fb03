// Errors in Anthropic's shape (`{type:"error",error:{type,message}}`), for JSON answers and the in-band stream event.
import { renderError } from '../../core/errors.ts';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic's error types; the internal (OpenAI) types that differ map to the nearest one. */
const TYPES: Readonly<Record<string, string>> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  timeout_error: 'timeout_error',
  overloaded_error: 'overloaded_error',
  server_error: 'api_error',
  api_error: 'api_error',
};

/** Anything thrown → status, Anthropic error body and headers (retry-after kept); unknown errors stay opaque. */
export function toAnthropicError(err: unknown): { status: number; body: AnthropicErrorBody; headers: Record<string, string> } {
  const { status, body, headers } = renderError(err);
  const type = status === 413 ? 'request_too_large' : (TYPES[String(body.error.type)] ?? 'api_error');
  return { status, body: { type: 'error', error: { type, message: body.error.message } }, headers };
}
