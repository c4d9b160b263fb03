// The router's contracts: how a target is called, what a request carries, and what routing returns.
import type { ChatRequest } from '../core/openai.ts';
import type { AccountOverride, TargetConfig } from '../config/index.ts';
import type { ChatResult } from '../providers/index.ts';

/** Who is calling: set by tenancy, used by route rules, limits and usage. */
export interface ClientInfo {
  id: string;
  name?: string;
  /** The tenant whose provider accounts this client's traffic uses. */
  tenant?: string;
}

export interface RequestMeta {
  requestId: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>;
  client?: ClientInfo;
  /** Per-request provider account settings (tenant accounts, the client's own upstream keys), keyed by account name or provider type. */
  accounts?: Map<string, AccountOverride>;
  /** Chains this client may use (from its key); the router refuses any other with 403. */
  allowedChains?: { names: string[]; holder: string };
  /** Set on requests that arrived from a mesh peer: never forward them again. */
  forwarded?: boolean;
}

/** Calls one target with a request already carrying the target's model. The one seam every transport sits behind. */
export type SendToTarget = (target: TargetConfig, req: ChatRequest, ctx: SendContext) => Promise<ChatResult>;

export interface SendContext {
  signal: AbortSignal;
  requestId: string;
  /** RequestMeta.accounts, applied to the target's account by whoever sends. */
  accounts?: Map<string, AccountOverride>;
}

/** A last resort when every local target failed: the mesh supplies it, the router never imports the mesh. */
export type PeerFallback = (req: ChatRequest, meta: RequestMeta) => Promise<{ peerId: string; result: ChatResult }>;

export interface Attempt {
  target: string;
  status: number;
  reason: string;
  ms: number;
  /** Upstream calls made on this target when retries happened. */
  tries?: number;
  retryAfterMs?: number;
}

export interface RoutedCall<T> {
  result: T;
  chain: string;
  /** The target that answered, or `peer:<id>` for a forward. */
  target: string;
  model: string;
  attempts: Attempt[];
}

export type Routed = RoutedCall<ChatResult>;

/** Prices per model (USD per 1M tokens), for the `cost` strategy: the usage module's PriceTable fits. */
export interface PriceLookup {
  priceOf(model: string): { input: number; output: number } | undefined;
}

/** The slice of a pino/fastify logger the router uses. */
export interface RouterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A cheap health request to a target (e.g. GET /models): true when it passed, false when the target has no such check; rejects when unhealthy. */
export type TargetProbe = (target: TargetConfig, signal: AbortSignal) => Promise<boolean>;
