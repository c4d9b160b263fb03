// Errors the mesh declares: bad mesh configuration, and rebuilding a remote peer's error on this side of the wire.
import { FlowRouterError, UpstreamError } from '../core/errors.ts';
import type { OpenAIErrorType } from '../core/errors.ts';

// Declared in the one error table (core/errors.ts); re-exported for the mesh's users.
export { MeshConfigError } from '../core/errors.ts';

/** The error part of an error frame: what a FlowRouterError exposes to clients, nothing more. */
export interface WireError {
  status: number;
  message: string;
  type: string;
  code: string | null;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof FlowRouterError) return { status: err.status, message: err.message, type: err.type, code: err.code };
  return { status: 500, message: 'Internal error on the mesh peer', type: 'server_error', code: 'internal_error' };
}

/** A remote 4xx is the client's own mistake: rethrown with the same status so the client sees the same error. */
export function fromWireError(wire: WireError, peerId: string): FlowRouterError {
  const e = sanitizeWireError(wire);
  if (e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
    return new UpstreamError('client', e.message, {
      upstreamStatus: e.status,
      status: e.status,
      type: e.type as OpenAIErrorType,
      code: e.code ?? 'mesh_remote_error',
    });
  }
  const kind = e.status === 429 ? 'rate_limit' : e.status === 503 ? 'overloaded' : e.status === 504 || e.status === 408 ? 'timeout' : 'server';
  return new UpstreamError(kind, `mesh peer ${shortId(peerId)}: ${e.message}`, { upstreamStatus: e.status, status: e.status });
}

const MAX_WIRE_TEXT = 1_000;

/** The peer chooses these fields: a status outside 400–599 becomes 502, and only bounded strings pass through. */
function sanitizeWireError(e: Partial<WireError>): WireError {
  const status = typeof e.status === 'number' && Number.isInteger(e.status) && e.status >= 400 && e.status <= 599 ? e.status : 502;
  const text = (v: unknown, fallback: string): string => (typeof v === 'string' && v ? v.slice(0, MAX_WIRE_TEXT) : fallback);
  return {
    status,
    message: text(e.message, 'error on the mesh peer'),
    type: text(e.type, status < 500 ? 'invalid_request_error' : 'server_error'),
    code: typeof e.code === 'string' ? e.code.slice(0, 100) : null,
  };
}

export function shortId(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}
