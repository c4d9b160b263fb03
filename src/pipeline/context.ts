// The one request context every layer reads: who asks, what the edge parsed, the route chosen once, and what happened.
import type { AccountOverride, ChainConfig, TargetConfig } from '../config/index.ts';
import type { FlowRouterError } from '../core/errors.ts';
import type { ChatMessage } from '../core/openai.ts';
import type { ClientApi } from '../core/passthrough.ts';
import { RequestTap } from './tap.ts';

/** Who is calling: set by tenancy at the edge, used by route rules, limits and usage. */
export interface ClientInfo {
  id: string;
  name?: string;
  /** The tenant whose provider accounts this client's traffic uses. */
  tenant?: string;
}

/** The kinds of call that run through a pipeline. */
export type Operation = 'chat' | 'embeddings' | 'completions';

/** Cache directives a request gave in its headers (`cache-control`, `x-flowrouter-cache-ttl`), parsed at the edge. */
export interface CacheDirectives {
  noCache?: boolean;
  noStore?: boolean;
  /** A TTL asked for by the request: also opts a non-deterministic request into the cache. */
  ttlS?: number;
}

/** What the HTTP edge read from the request's headers, so no layer parses a header string. */
export interface EdgeDirectives {
  cache: CacheDirectives;
  /** `x-flowrouter-rag`: a collection name, `off`, or absent. */
  rag?: string;
}

/**
 * A request that came in another client API than Chat Completions (Anthropic Messages, OpenAI Responses): what a
 * target speaking that same API is sent instead of a translation (passthrough).
 */
export interface InboundRequest {
  api: Exclude<ClientApi, 'chat'>;
  /** The client's body, ready to go upstream as it is but for the target's model. */
  body: Record<string, unknown>;
  /** Request headers the API defines beyond credentials (`anthropic-beta`), forwarded with the body. */
  headers: Record<string, string>;
  /** The conversation as translated at the edge: system text a layer added (RAG) is the only change a passthrough takes along. */
  messages: readonly ChatMessage[];
  /** Set when part of the request only that API's own vendor can serve: other targets are skipped with this error. */
  untranslatable?: FlowRouterError;
  /** What the translated request leaves out (the vendor's server-side tools), by path in the client's body. */
  leftOut?: readonly string[];
}

/** The chain a request goes to, chosen once for the whole request. */
export interface Route {
  chain: ChainConfig;
  /** Picked because one of its targets serves the requested model: those targets go first. */
  byModel: boolean;
  /** The route rule that picked the chain, if one did. */
  rule?: string;
}

/** One try of one target, as reported in the response and the logs. */
export interface Attempt {
  target: string;
  status: number;
  reason: string;
  ms: number;
  /** Upstream calls made on this target when retries happened. */
  tries?: number;
  retryAfterMs?: number;
}

/** What happened to a request, filled in by the layers as they work and rendered once at the edge. */
export interface Trace {
  route?: Route;
  /** The target that answered (`peer:<id>` for a mesh peer), the model sent to it. */
  target?: string;
  model?: string;
  attempts: Attempt[];
  cache?: 'hit' | 'miss' | 'bypass';
  /** Prompt tokens normalization removed. */
  tokensSaved: number;
  /** Knowledge passages injected by RAG. */
  sources?: string[];
}

/** A hold on a client's budget for one attempt at one target, priced on that target's model. */
export interface AttemptHold {
  /** The attempt failed before answering: give the hold back. */
  release(): void;
  /** The attempt answered: the hold is settled to the real cost when the request ends. */
  keep(): void;
}

/**
 * Asked by the router before each attempt; throws (a RateLimitError) when the client cannot afford this target. A key
 * counted mesh-wide may answer later: its hold waits until the other members have seen this node's recent ones.
 */
export type AttemptGate = (target: TargetConfig, model: string) => AttemptHold | Promise<AttemptHold>;

export interface RequestContext {
  readonly requestId: string;
  readonly operation: Operation;
  /** The client API the request came in (the operation is still `chat` for the Messages and Responses APIs). */
  readonly api: ClientApi;
  /** The client's own body, for targets that speak its API. */
  readonly inbound?: InboundRequest;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** Request headers without credentials, for route rules' `match.header`. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly directives: EdgeDirectives;
  client?: ClientInfo;
  /** The client's own upstream keys for this request (BYOK), by provider type; taken out of the headers at the edge. */
  readonly upstreamKeys: ReadonlyMap<string, string>;
  /** Per-request provider account settings (tenant accounts, upstream keys), by account name or type: set by tenancy. */
  accounts?: Map<string, AccountOverride>;
  /** Chains this client may use (from its key). */
  allowedChains?: { names: string[]; holder: string };
  /** Knowledge collections this client may read (from its key or tenant); absent means any. */
  allowedCollections?: { names: string[]; holder: string };
  /** Set on requests that arrived from a mesh peer (its peer id): they are never forwarded again. */
  readonly forwardedBy?: string;
  /** Set by tenancy: reserves budget per attempt. */
  gate?: AttemptGate;
  /** Estimated prompt tokens of the request as it arrived, counted once on first use. */
  promptTokens(): number;
  readonly trace: Trace;
  readonly tap: RequestTap;
}

export interface ContextInit {
  requestId: string;
  operation: Operation;
  /** `chat` when absent. */
  api?: ClientApi;
  inbound?: InboundRequest;
  signal: AbortSignal;
  headers?: Record<string, string | string[] | undefined>;
  directives?: EdgeDirectives;
  client?: ClientInfo;
  upstreamKeys?: ReadonlyMap<string, string>;
  forwardedBy?: string;
  /** Counts the prompt's tokens; called at most once. */
  countPrompt: () => number;
}

export function createContext(init: ContextInit): RequestContext {
  let tokens: number | undefined;
  return {
    requestId: init.requestId,
    operation: init.operation,
    api: init.api ?? 'chat',
    inbound: init.inbound,
    signal: init.signal,
    headers: init.headers ?? {},
    directives: init.directives ?? { cache: {} },
    client: init.client,
    upstreamKeys: init.upstreamKeys ?? new Map(),
    forwardedBy: init.forwardedBy,
    promptTokens: () => (tokens ??= init.countPrompt()),
    trace: { attempts: [], tokensSaved: 0 },
    tap: new RequestTap(init.operation),
  };
}
