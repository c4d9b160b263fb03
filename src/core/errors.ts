// Coded errors with an HTTP status and an OpenAI error type; rendered once, in the OpenAI error shape.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType | string; code: string | null; param?: string | null; [extra: string]: unknown };
}

export interface FlowRouterErrorOptions {
  param?: string | null;
  /** Extra response headers, e.g. retry-after. */
  headers?: Record<string, string>;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Secrets the message may echo (an upstream's key): masked here, so no later log or response can show them. */
  secrets?: Iterable<string | undefined>;
}

export class FlowRouterError extends Error {
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly code: string;
  readonly param: string | null;
  /** Extra response headers, e.g. retry-after. */
  readonly headers: Record<string, string>;
  /** Extra fields placed inside `error` (e.g. the list of attempts). */
  readonly details: Record<string, unknown>;

  constructor(status: number, type: OpenAIErrorType, code: string, message: string, opts: FlowRouterErrorOptions = {}) {
    // Redacted at construction: well-known key shapes always, and whatever secrets the thrower names.
    super(redactSecrets(message, opts.secrets ?? []), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
    this.details = opts.details ?? {};
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param, ...this.details } };
  }
}

/** `%s` placeholders of a message template, as the constructor's leading arguments. */
type Placeholders<M extends string> = M extends `${string}%s${infer Rest}` ? [string | number, ...Placeholders<Rest>] : [];

/** A class made by `createError`: `new ConfigError('…')`; its code and status are readable without an instance. */
export interface CodedErrorClass<M extends string> {
  new (...args: [...Placeholders<M>, FlowRouterErrorOptions?]): FlowRouterError;
  readonly code: string;
  readonly status: number;
}

/** `mesh_not_started` → `MeshNotStartedError`, the name an instance reports. */
function nameOf(code: string): string {
  return `${code.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}Error`;
}

/**
 * Declares an error once, as fastify's `createError` does: code, HTTP status, OpenAI type and message template; it is
 * then thrown by name. Each `%s` in the template takes one constructor argument, in order; options may follow.
 */
export function createError<const M extends string>(code: string, status: number, type: OpenAIErrorType, message: M): CodedErrorClass<M> {
  const slots = message.split('%s').length - 1;
  const Coded = class extends FlowRouterError {
    static readonly code = code;
    static readonly status = status;
    constructor(...args: unknown[]) {
      let i = 0;
      const text = message.replace(/%s/g, () => String(args[i++]));
      super(status, type, code, text, (args[slots] as FlowRouterErrorOptions | undefined) ?? {});
    }
  };
  Object.defineProperty(Coded, 'name', { value: nameOf(code) });
  return Coded as unknown as CodedErrorClass<M>;
}

/** The client sent something wrong: 4xx, never retried, never falls through a chain. */
export class ClientError extends FlowRouterError {
  constructor(message: string, opts: { status?: number; code?: string; param?: string | null; type?: OpenAIErrorType; headers?: Record<string, string> } = {}) {
    super(opts.status ?? 400, opts.type ?? 'invalid_request_error', opts.code ?? 'invalid_request', message, opts);
  }
}

export class AuthError extends FlowRouterError {
  constructor(message: string, code = 'invalid_api_key') {
    super(401, 'authentication_error', code, message);
  }
}

export class PermissionError extends FlowRouterError {
  constructor(message: string, code = 'forbidden') {
    super(403, 'permission_error', code, message);
  }
}

export class RateLimitError extends FlowRouterError {
  constructor(message: string, code = 'rate_limit_exceeded', retryAfterSeconds?: number) {
    super(429, 'rate_limit_error', code, message, {
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

export class NotFoundError extends FlowRouterError {
  constructor(message: string, code = 'not_found') {
    super(404, 'not_found_error', code, message);
  }
}

/** Why an upstream attempt failed; decides whether a chain falls through to its next target. */
export type UpstreamFailureKind =
  | 'connect' // refused, reset, DNS
  | 'timeout' // connect, first byte or total deadline
  | 'rate_limit' // 429 or provider quota
  | 'overloaded' // 529, "overloaded"
  | 'server' // 5xx
  | 'context_length' // prompt too long for this model
  | 'auth' // the gateway's upstream key was refused: a config problem, try the next target
  | 'client' // the client's own mistake (400, 404 model, content policy): return at once
  | 'protocol'; // malformed upstream response

export class UpstreamError extends FlowRouterError {
  readonly kind: UpstreamFailureKind;
  readonly upstreamStatus: number | null;
  readonly retryAfterMs: number | null;

  constructor(
    kind: UpstreamFailureKind,
    message: string,
    opts: {
      upstreamStatus?: number | null;
      retryAfterMs?: number | null;
      type?: OpenAIErrorType;
      code?: string;
      param?: string | null;
      status?: number;
      cause?: unknown;
    } = {},
  ) {
    const status = opts.status ?? statusForKind(kind, opts.upstreamStatus ?? null);
    const headers: Record<string, string> = {};
    if (opts.retryAfterMs != null) headers['retry-after'] = String(Math.max(1, Math.ceil(opts.retryAfterMs / 1000)));
    super(status, opts.type ?? typeForKind(kind), opts.code ?? `upstream_${kind}`, message, { param: opts.param, headers, cause: opts.cause });
    this.kind = kind;
    this.upstreamStatus = opts.upstreamStatus ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }

  /** Whether the chain may try its next target after this failure. */
  get fallsThrough(): boolean {
    return this.kind !== 'client';
  }
}

function statusForKind(kind: UpstreamFailureKind, upstream: number | null): number {
  switch (kind) {
    case 'client':
      return upstream !== null && upstream >= 400 && upstream < 500 ? upstream : 400;
    case 'context_length':
      return 400;
    case 'rate_limit':
      return 429;
    case 'timeout':
      return 504;
    case 'overloaded':
      return 503;
    default:
      return 502;
  }
}

function typeForKind(kind: UpstreamFailureKind): OpenAIErrorType {
  switch (kind) {
    case 'client':
    case 'context_length':
      return 'invalid_request_error';
    case 'rate_limit':
      return 'rate_limit_error';
    case 'timeout':
      return 'timeout_error';
    case 'overloaded':
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

/** Turns anything thrown into the OpenAI error body and status; unknown errors become an opaque 500. */
export function renderError(err: unknown): { status: number; body: OpenAIErrorBody; headers: Record<string, string> } {
  if (err instanceof FlowRouterError) return { status: err.status, body: err.toJSON(), headers: err.headers };
  return {
    status: 500,
    body: { error: { message: 'Internal error in Flow Router', type: 'server_error', code: 'internal_error', param: null } },
    headers: {},
  };
}

/** Removes every occurrence of the given secrets from a text (messages from upstreams may echo a key back). */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(maskSecret(s));
  }
  return out.replace(/\b(sk-[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}/g, '$1…').replace(/\b(AIza[A-Za-z0-9_-]{2})[A-Za-z0-9_-]{20,}/g, '$1…');
}

export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '****' : `${secret.slice(0, 3)}…${secret.slice(-2)}`;
}

// The coded errors, declared once. Families above (ClientError, UpstreamError, …) remain the bases of ad-hoc errors.

/** The config file (or a flag) is invalid; the message names file:line:column and the key path. Never per request. */
export const ConfigError = createError('config_invalid', 500, 'server_error', '%s');
/** `registerProvider` with a type the registry already has. */
export const ProviderTypeTaken = createError('provider_type_taken', 500, 'server_error', 'provider type "%s" is already registered');

/** A mesh key, secret or address that cannot be used; raised at start, never per request. */
export const MeshConfigError = createError('mesh_config', 500, 'server_error', '%s');
export const MeshNotStarted = createError('mesh_not_started', 503, 'server_error', 'the mesh node is not started');
/** A long-lived mesh task ended because its owner (`mesh`, `replication`) is stopping. */
export const MeshStopping = createError('mesh_stopping', 503, 'server_error', '%s stopping');
/** A peer dialled us without being a member (not in the allowlist). */
export const NotMeshMember = createError('mesh_not_member', 403, 'permission_error', 'not a member of this mesh');
/** A signed capacity record that must not be believed (bad signature, expired, from another peer…). */
export const CapacityRecordInvalid = createError('mesh_capacity_record_invalid', 502, 'api_error', 'capacity record %s');
/** A sync peer announced one op bigger than any this node accepts (the store refuses to write such ops). */
export const MeshSyncOpTooLarge = createError('mesh_sync_op_too_large', 502, 'api_error', 'the mesh peer announced an op of %s bytes; at most %s are accepted');
/** A connection's first bytes did not decrypt with the mesh secret: the peer holds another one. */
export const MeshForeignNetwork = createError(
  'mesh_foreign_network',
  403,
  'permission_error',
  "the peer at %s does not hold this mesh's secret (its first bytes do not decrypt with our key): check that both nodes use the same mesh.key, copied from the first node",
);
/** A protected connection carried 256 GiB one way: its 32-bit block counter is spent. */
export const MeshKeystreamExhausted = createError(
  'mesh_keystream_exhausted',
  502,
  'api_error',
  'private-network keystream exhausted (256 GiB in one direction): the connection is closed and will be re-established',
);
/** A peer sent a frame the protocol does not allow. */
export const MeshProtocolError = createError('mesh_protocol_error', 502, 'api_error', 'malformed %s from the mesh peer');
/** A mesh stream was closed or reset on our side; the reason says why. */
export const MeshStreamClosed = createError('mesh_stream_closed', 502, 'api_error', 'mesh stream closed: %s');
/** A forwarded request's peer stopped sending (no keep-alive within its window). */
export const MeshPeerSilent = createError('mesh_peer_silent', 504, 'timeout_error', 'mesh peer went silent');
