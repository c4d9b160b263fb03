// Connects a node to the mesh: what it advertises, how it serves peers' forwards, and its peers as router targets.
import { hostname } from 'node:os';
import type { NodeConfig, TargetConfig } from '../config/index.ts';
import type { ChatRequest } from '../core/openai.ts';
import { UpstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { createContext, type ClientInfo, type Handler } from '../pipeline/index.ts';
import type { ChatResult } from '../providers/index.ts';
import { promptTokens, type PeerDirectory, type RouterStatus, type TargetProbe } from '../router/index.ts';
import { createMeshNode, type CapacityInfo, type ForwardIdentity, type ForwardOptions, type MeshNode } from '../mesh/index.ts';
import { ModelReadiness } from './model-readiness.ts';

/** At most this many peers are tried for one request. */
const MAX_PEERS_PER_REQUEST = 8;

export interface MeshLinkDeps {
  config: () => NodeConfig;
  dataDir: string;
  version: string;
  routerStatus: () => RouterStatus;
  /** A model target's health request: self-hosted models are probed so that only answering ones are advertised. */
  probe: TargetProbe;
  /** The pipeline for requests that arrived from a peer: answered by this node's model targets only. */
  forwardedChat: Handler<'chat'>;
  /**
   * The client key a forward's verified identity names, when this node holds it (throws when it is revoked or expired);
   * undefined when it does not know the key (yet): the forward is then the peer's own.
   */
  clientOf?: (identity: ForwardIdentity, peerId: string) => ClientInfo | undefined;
  onForward: (direction: 'in' | 'out') => void;
  /** The node's logger: the mesh takes one child per component from it (`mesh`, `bootstrap`, `forward`). */
  logger: Logger;
}

/**
 * What this node can answer for its peers right now: the chains and models of its model targets that answer their
 * probe and whose breakers are not open (a knowledge answer or another forward is never what a peer asks for), with
 * headroom and health.
 */
export function capacityOf(config: NodeConfig, status: RouterStatus, version: string, ready: (targetId: string) => boolean = () => true): CapacityInfo {
  // A node that serves no forwards offers nothing to forward to.
  if (!config.mesh.acceptForwards) return { models: [], chains: [], freeConcurrency: 0, latencyP50Ms: null, errorRate: 0, version };
  const open = new Set(status.targets.filter((t) => t.breaker.state === 'open' || !ready(t.id)).map((t) => t.id));
  const models = new Set<string>();
  const chains: string[] = [];
  for (const chain of config.chains.values()) {
    const usable = chain.targets.filter((t) => t.kind === 'provider' && !open.has(t.id));
    if (usable.length === 0) continue;
    chains.push(chain.name);
    models.add(chain.name);
    for (const t of usable) if (t.model !== '*') models.add(t.model);
  }
  const served = status.targets.filter((t) => t.provider !== 'knowledge' && t.provider !== 'mesh');
  const usable = served.filter((t) => !open.has(t.id));
  const inFlight = served.reduce((n, t) => n + t.in_flight, 0);
  const latencies = usable
    .map((t) => t.latency.avg_ms)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  const requests = served.reduce((n, t) => n + t.requests, 0);
  const failures = served.reduce((n, t) => n + t.failures, 0);
  return {
    models: [...models],
    chains,
    // No usable model target means nothing to offer, whatever the concurrency.
    freeConcurrency: usable.length === 0 ? 0 : Math.max(0, 64 - inFlight),
    latencyP50Ms: latencies.length ? latencies[Math.floor(latencies.length / 2)] : null,
    errorRate: requests ? failures / requests : 0,
    version,
  };
}

export class MeshLink {
  readonly mesh: MeshNode;
  private readonly deps: MeshLinkDeps;
  private readonly readiness: ModelReadiness;
  private running = false;

  constructor(deps: MeshLinkDeps) {
    this.deps = deps;
    const m = deps.config().mesh;
    const log = deps.logger.child({ component: 'mesh' });
    // A model that stops (or starts) answering is told to the peers at once, not at the next heartbeat.
    this.readiness = new ModelReadiness({
      config: deps.config,
      probe: deps.probe,
      onChange: () => {
        log.info({ notAnswering: this.readiness.down() }, 'mesh:models-changed');
        // The next heartbeat tells the peers anyway.
        if (this.running) this.mesh.refreshCapacity().catch((err: unknown) => log.info({ error: (err as Error).message }, 'mesh:capacity-refresh-failed'));
      },
    });
    this.mesh = createMeshNode(
      {
        dataDir: deps.dataDir,
        listen: m.listen,
        bootstrap: m.bootstrap,
        mdns: m.mdns,
        secretFile: m.secretFile,
        allowlist: m.allowlist.length ? m.allowlist : undefined,
        nodeName: m.name ?? hostname(),
      },
      {
        capacity: () => capacityOf(deps.config(), deps.routerStatus(), deps.version, (id) => this.readiness.ready(id)),
        acceptsForwards: () => deps.config().mesh.acceptForwards,
        serveForward: async (req, fctx) => {
          deps.onForward('in');
          // The client the peer vouched for (signature checked) when this node holds that key, else the peer itself.
          const client = (fctx.identity && deps.clientOf?.(fctx.identity, fctx.peerId)) ?? { id: `peer:${fctx.peerId}` };
          const ctx = createContext({
            requestId: fctx.requestId,
            operation: 'chat',
            signal: fctx.signal,
            client,
            forwardedBy: fctx.peerId,
            countPrompt: () => promptTokens(req),
          });
          try {
            return await deps.forwardedChat(req, ctx);
          } catch (err) {
            // Every model target failed this forward: if a model went down, stop offering it now.
            void this.readiness.check();
            throw err;
          }
        },
        logger: deps.logger,
      },
    );
  }

  async start(): Promise<void> {
    await this.readiness.start();
    try {
      await this.mesh.start();
    } catch (err) {
      await this.readiness.stop();
      throw err;
    }
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.readiness.stop();
    await this.mesh.stop();
  }

  /** One hop to one peer: the transport behind the router's `peer:<id>` targets. */
  forward(peerId: string, req: ChatRequest, opts: ForwardOptions): Promise<ChatResult> {
    if (!this.running) return Promise.reject(new UpstreamError('connect', 'the mesh is not running'));
    this.deps.onForward('out');
    return this.mesh.forward(peerId, req, opts);
  }

  /** The peers serving a model, best first, as targets the router walks like any other. */
  readonly peers: PeerDirectory = {
    candidates: async (names: string[], template: TargetConfig, signal: AbortSignal): Promise<TargetConfig[]> => {
      if (!this.running) return [];
      // One deadline for the forward, however many peers it takes (`forward_timeout_ms` or the target's `timeout_ms`).
      const deadlineMs = Date.now() + (template.timeoutMs ?? this.deps.config().mesh.forwardTimeoutMs);
      const model = names[0];
      const ids = await this.mesh.peersFor(names, signal);
      return ids.slice(0, MAX_PEERS_PER_REQUEST).map((peerId) => ({ id: `peer:${peerId}`, kind: 'mesh', model, peerId, weight: 1, deadlineMs }));
    },
  };
}
