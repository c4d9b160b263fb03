// The HTTP edge's reading of a request's headers into the typed context, and its rendering of the trace into headers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../core/errors.ts';
import {
  createContext,
  type CacheDirectives,
  type ClientInfo,
  type EdgeDirectives,
  type InboundRequest,
  type Operation,
  type RequestContext,
  type Trace,
} from '../pipeline/index.ts';
import { isProviderType, providerTypes } from '../providers/index.ts';
import { promptTokens } from '../router/index.ts';

type Headers = Record<string, string | string[] | undefined>;

export const UPSTREAM_KEY_HEADER_PREFIX = 'x-flowrouter-upstream-key-';
/** Credentials never travel further than the edge in the context's headers. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'cookie']);

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The client's own upstream keys (`x-flowrouter-upstream-key-<provider type>`), by provider type; the headers are
 * returned without them (and without other credentials), so no later step — cache, usage, logs — ever sees them.
 */
export function takeUpstreamKeys(headers: Headers): { headers: Headers; keys: Map<string, string> } {
  const keys = new Map<string, string>();
  const rest: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (CREDENTIAL_HEADERS.has(name)) continue;
    if (!name.startsWith(UPSTREAM_KEY_HEADER_PREFIX)) {
      rest[name] = value;
      continue;
    }
    const provider = name.slice(UPSTREAM_KEY_HEADER_PREFIX.length);
    if (!isProviderType(provider)) {
      throw new ClientError(
        `${name.slice(0, 64)}: unknown provider; use ${providerTypes()
          .map((p) => UPSTREAM_KEY_HEADER_PREFIX + p)
          .join(', ')}`,
        { code: 'invalid_upstream_key_header' },
      );
    }
    const key = first(value)?.trim();
    if (key) keys.set(provider, key);
  }
  return { headers: rest, keys };
}

/** `cache-control: no-cache | no-store | max-age=600` and `x-flowrouter-cache-ttl: 600`. */
function cacheDirectives(headers: Headers): CacheDirectives {
  const d: CacheDirectives = {};
  const control = headers['cache-control'];
  for (const part of (Array.isArray(control) ? control.join(',') : (control ?? '')).toLowerCase().split(',')) {
    const p = part.trim();
    if (p === 'no-cache') d.noCache = true;
    else if (p === 'no-store') d.noStore = true;
    else if (/^(max-age|ttl)=\d+$/.test(p)) d.ttlS = Number(p.split('=')[1]);
  }
  const ttl = first(headers['x-flowrouter-cache-ttl'])?.trim();
  if (ttl !== undefined && /^\d+$/.test(ttl)) d.ttlS = Number(ttl);
  return d;
}

export function edgeDirectives(headers: Headers): EdgeDirectives {
  const rag = first(headers['x-flowrouter-rag'])?.trim();
  return { cache: cacheDirectives(headers), ...(rag ? { rag } : {}) };
}

/** Fastify's client-abort signal: aborted when the client closes the connection before the response ended. */
function clientSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort(new ClientError('client closed the connection', { status: 499, code: 'client_closed_request' }));
  });
  return ac.signal;
}

/** Each request's context, so the error handler can render what the request got to. */
const contexts = new WeakMap<FastifyRequest, RequestContext>();

export function contextOf(request: FastifyRequest): RequestContext | undefined {
  return contexts.get(request);
}

export function createRequestContext(
  request: FastifyRequest,
  reply: FastifyReply,
  operation: Operation,
  body: { model: string },
  client: ClientInfo | undefined,
  inbound?: InboundRequest,
): RequestContext {
  const { headers, keys } = takeUpstreamKeys(request.headers);
  const directives = edgeDirectives(headers);
  // The internal request lacks what only the client API's vendor serves, so it cannot key that answer in the cache.
  if (inbound?.untranslatable || inbound?.leftOut?.length) directives.cache = { noCache: true, noStore: true };
  const ctx = createContext({
    requestId: request.id,
    operation,
    api: inbound?.api ?? 'chat',
    inbound,
    signal: clientSignal(reply),
    headers,
    directives,
    client,
    upstreamKeys: keys,
    countPrompt: () => promptTokens(body),
  });
  contexts.set(request, ctx);
  return ctx;
}

/** The trace as response headers: which chain and target answered, after how many attempts, cache, sources, savings. */
export function traceHeaders(trace: Trace): Record<string, string> {
  const h: Record<string, string> = {};
  if (trace.route) h['x-flowrouter-chain'] = trace.route.chain.name;
  if (trace.target) h['x-flowrouter-target'] = trace.target;
  if (trace.attempts.length) h['x-flowrouter-attempts'] = String(trace.attempts.length);
  if (trace.cache) h['x-flowrouter-cache'] = trace.cache;
  if (trace.sources) h['x-flowrouter-sources'] = trace.sources.join(',');
  if (trace.tokensSaved > 0) h['x-flowrouter-tokens-saved'] = String(trace.tokensSaved);
  return h;
}
