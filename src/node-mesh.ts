// Connects a node to the mesh: what it advertises, how it serves peers' forwards, and how it forwards its own requests.
import { hostname } from 'node:os';
import { servedModels, type NodeConfig } from './config/index.ts';
import type { ChatRequest } from './core/openai.ts';
import { UpstreamError } from './core/errors.ts';
import type { ChatOutcome, ChatService } from './gateway/index.ts';
import type { ChatResult } from './providers/index.ts';
import type { PeerFallback, RouterStatus } from './router/index.ts';
import { createMeshNode, type CapacityInfo, type ForwardPolicy, type MeshNode } from './mesh/index.ts';

export interface MeshLinkDeps {
  config: () => NodeConfig;
  dataDir: string;
  version: string;
  routerStatus: () => RouterStatus;
  /** The chat path for requests that arrived from a peer (no tenancy: membership is the peer's credential). */
  forwardedChat: ChatService;
  onForward: (direction: 'in' | 'out') => void;
  /** Per-peer limits on forwards served here, and the accept switch. */
  forwardPolicy?: ForwardPolicy;
  log: (event: string, detail?: Record<string, unknown>) => void;
}

/** Everything this node can answer, with its current headroom and health, as peers see it. */
export function capacityOf(config: NodeConfig, status: RouterStatus, version: string): CapacityInfo {
  // A node that serves no forwards offers nothing to forward to.
  if (!config.mesh.acceptForwards) return { models: [], chains: [], freeConcurrency: 0, latencyP50Ms: null, errorRate: 0, version };
  const usable = status.targets.filter((t) => t.breaker.state !== 'open');
  const inFlight = status.targets.reduce((n, t) => n + t.in_flight, 0);
  const latencies = usable.map((t) => t.latency.avg_ms).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const requests = status.targets.reduce((n, t) => n + t.requests, 0);
  const failures = status.targets.reduce((n, t) => n + t.failures, 0);
  return {
    models: servedModels(config),
    chains: [...config.chains.keys()],
    // No usable target means nothing to offer, whatever the concurrency.
    freeConcurrency: usable.length === 0 ? 0 : Math.max(0, 64 - inFlight),
    latencyP50Ms: latencies.length ? latencies[Math.floor(latencies.length / 2)] : null,
    errorRate: requests ? failures / requests : 0,
    version,
  };
}

/** A ChatOutcome as a bare ChatResult, telling the outcome's `done` hook when the result has been consumed. */
function consumed(outcome: ChatOutcome): ChatResult {
  const { result } = outcome;
  if (result.kind === 'json') {
    outcome.done?.({ aborted: false });
    return result;
  }
  const source = result.chunks;
  async function* chunks() {
    let error: unknown;
    let finished = false;
    try {
      yield* source;
      finished = true;
    } catch (err) {
      error = err;
      throw err;
    } finally {
      outcome.done?.({ aborted: !finished && error === undefined, error });
    }
  }
  return { ...result, chunks: chunks() };
}

export class MeshLink {
  readonly mesh: MeshNode;
  private readonly deps: MeshLinkDeps;
  private running = false;

  constructor(deps: MeshLinkDeps) {
    this.deps = deps;
    const m = deps.config().mesh;
    this.mesh = createMeshNode({
      dataDir: deps.dataDir,
      listen: m.listen,
      bootstrap: m.bootstrap,
      mdns: m.mdns,
      secretFile: m.secretFile,
      allowlist: m.allowlist.length ? m.allowlist : undefined,
      nodeName: m.name ?? hostname(),
    }, {
      capacity: () => capacityOf(deps.config(), deps.routerStatus(), deps.version),
      serveForward: async (req, ctx) => {
        deps.onForward('in');
        // Attributed to the sending peer as Noise authenticated it, never to the client id its frame claims.
        const outcome = await deps.forwardedChat(req, {
          requestId: ctx.requestId, signal: ctx.signal, headers: {}, forwarded: true, client: { id: `peer:${ctx.peerId}` },
        });
        return consumed(outcome);
      },
      forwardPolicy: deps.forwardPolicy,
      log: deps.log,
    });
  }

  async start(): Promise<void> {
    await this.mesh.start();
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.mesh.stop();
  }

  /** The router's last resort: the same request, one hop, to the best peer that serves the model. */
  readonly fallback: PeerFallback = async (req: ChatRequest, meta) => {
    if (!this.running) throw new UpstreamError('connect', 'the mesh is not running');
    this.deps.onForward('out');
    return this.mesh.forwardChat(req, {
      signal: meta.signal, client: meta.client?.id ?? null, requestId: meta.requestId,
      deadlineMs: Date.now() + this.deps.config().mesh.forwardTimeoutMs,
    });
  };
}
