// Shapes the mesh shares with the node's wiring: options, the integrator-supplied dependencies, and what it reports.
import type { ChatRequest } from '../core/openai.ts';
import type { ChatResult } from '../providers/transport.ts';
import type { Logger } from '../core/logger.ts';
import type { ForwardIdentity } from './forward-identity.ts';

/** What this node can serve right now; supplied by the integrator and advertised to every peer. */
export interface CapacityInfo {
  /** Model names clients may ask for (the `model` of a ChatRequest). */
  models: string[];
  /** Chain names this node runs. */
  chains: string[];
  /** Requests this node could accept right now. */
  freeConcurrency: number;
  /** Recent median upstream latency, or null when nothing was served recently. */
  latencyP50Ms: number | null;
  /** Recent share of failed requests, 0..1. */
  errorRate: number;
  /** Flow Router version. */
  version: string;
}

export interface MeshOptions {
  /** Where the node keeps `mesh-identity.key`. */
  dataDir: string;
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4002`. */
  listen: string[];
  /** Multiaddrs ending in `/p2p/<peer id>` dialled at start and kept connected. */
  bootstrap: string[];
  mdns: boolean;
  /** Pre-shared key file (`flowrouter mesh init`); without it the mesh is open to anyone who can reach it. */
  secretFile?: string;
  /** Peer ids allowed to connect; when set, every other peer is refused. */
  allowlist?: string[];
  nodeName?: string;
  /** Timings; the defaults suit a LAN, tests shorten them. */
  timing?: Partial<MeshTiming>;
}

export interface MeshTiming {
  /** How often capacity is re-sent to (and so probes) every connected peer. */
  heartbeatMs: number;
  /** Lifetime of a capacity record; a peer not heard from within it is unhealthy. */
  recordTtlMs: number;
  /** How often the capacity record is re-put into the DHT even when unchanged. */
  republishMs: number;
  /** Bound on every DHT query. */
  dhtTimeoutMs: number;
  /** Interval between keep-alive frames while a forwarded request is being served. */
  keepaliveMs: number;
  /**
   * How long a peer has to answer before a forward gives up on it: a liveness check (ping) or the forward stream's
   * negotiation, both one round trip to the peer's libp2p, however slow its model. Dialling first gets twice this.
   */
  reachTimeoutMs: number;
}

export interface ForwardContext {
  signal: AbortSignal;
  /** The peer that sent the request, as Noise authenticated the connection. */
  peerId: string;
  requestId: string;
  /**
   * The client key the sender vouches for, its signature, audience, freshness and request checked (forward-identity.ts);
   * whether that key exists and may do this is the node's to check. Absent: the forward is the peer's own.
   */
  identity?: ForwardIdentity;
}

export interface MeshDeps {
  capacity(): CapacityInfo;
  /** Runs a forwarded request on the local chains with forwarding disabled. */
  serveForward(request: ChatRequest, ctx: ForwardContext): Promise<ChatResult>;
  /** False while this node serves no forwards (`mesh.accept_forwards: false`); absent: it serves them. */
  acceptsForwards?: () => boolean;
  /** The node's logger: the mesh logs through its children `component: mesh`, `bootstrap` and `forward`. Absent: silent. */
  logger?: Logger;
}

export interface ForwardOptions {
  signal?: AbortSignal;
  /** The authenticated client the request is made for: signed into the frame for the serving node. */
  identity?: ForwardIdentity;
  requestId: string;
  /** Absolute deadline, epoch milliseconds; the remote stops working at this time too. */
  deadlineMs: number;
}

/** From the peer's capacity record and probes; the node adds `breaker-open` from the router's breaker for that peer. */
export type PeerHealth = 'healthy' | 'stale' | 'unreachable' | 'breaker-open';

export interface PeerRow {
  peerId: string;
  nodeName: string | null;
  addresses: string[];
  connected: boolean;
  capacity: CapacityInfo | null;
  capacityExpiresAt: number | null;
  rttMs: number | null;
  lastSeen: number | null;
  health: PeerHealth;
}

export interface MeshStatus {
  peerId: string;
  nodeName: string | null;
  multiaddrs: string[];
  peers: { known: number; connected: number; healthy: number };
  forwards: { in: number; out: number; inFailed: number; outFailed: number };
  privateNetwork: boolean;
  allowlist: number | null;
}
