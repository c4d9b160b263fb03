// The router's contracts: how a target is called, how the mesh offers its peers, and what the router reports.
import type { AccountOverride, TargetConfig } from '../config/index.ts';
import type { ClientInfo, InboundRequest, Operation, Outcome, RequestOf } from '../pipeline/index.ts';

export interface SendContext {
  signal: AbortSignal;
  requestId: string;
  /** Per-request account settings (tenant accounts, the client's own upstream keys), applied by whoever sends. */
  accounts?: Map<string, AccountOverride>;
  client?: ClientInfo;
  /** The client's own body when it came in another API: targets speaking that API are sent it instead of a translation. */
  inbound?: InboundRequest;
}

/**
 * Calls one target with a request already carrying the target's model: the one seam every transport sits behind
 * (a provider account, the knowledge base, a mesh peer).
 */
export type SendToTarget = <O extends Operation>(target: TargetConfig, op: O, req: RequestOf<O>, ctx: SendContext) => Promise<Outcome<O>>;

/** Which operations a target can serve (embeddings and legacy completions exist on some providers only). */
export type TargetSupports = (target: TargetConfig, op: Operation) => boolean;

/**
 * The mesh's peers as targets: the peers that serve the first of `names` (the model, then the chain) any peer serves,
 * best first, as targets of kind `mesh` with a `peerId`. Supplied by the node's wiring; the router never imports the mesh.
 */
export interface PeerDirectory {
  candidates(names: string[], template: TargetConfig, signal: AbortSignal): Promise<TargetConfig[]>;
}

/** Prices per model (USD per 1M tokens), for the `cost` strategy: the usage module's PriceTable fits. */
export interface PriceLookup {
  priceOf(model: string): { input: number; output: number } | undefined;
}

/** A cheap health request to a target (e.g. GET /models): true when it passed, false when the target has no such check; rejects when unhealthy. */
export type TargetProbe = (target: TargetConfig, signal: AbortSignal) => Promise<boolean>;
