// Whether this node's own models answer now, so the mesh advertises only what a forward can get: a Pi whose model
// server is down (or still loading) offers nothing, before any request has had to fail on it.
import type { NodeConfig, TargetConfig } from '../config/index.ts';
import { providers } from '../providers/index.ts';
import type { TargetProbe } from '../router/index.ts';

export interface ModelReadinessDeps {
  config: () => NodeConfig;
  /** The provider's own health request (GET /models for OpenAI-compatible servers); rejects when it fails. */
  probe: TargetProbe;
  /** Told after a check that changed what is ready. */
  onChange: () => void;
  intervalMs?: number;
}

/** Often enough that peers stop forwarding to a model that went down within seconds; a local GET /models is cheap. */
const CHECK_INTERVAL_MS = 5_000;
const PROBE_TIMEOUT_MS = 3_000;

/**
 * Only self-hosted models are probed (a server on the Pi or the LAN, which goes down with its host): a cloud model is
 * judged by its breaker, and probing a paid API every few seconds from every node would cost its rate limits.
 */
function probed(config: NodeConfig): TargetConfig[] {
  const byId = new Map<string, TargetConfig>();
  for (const chain of config.chains.values()) {
    for (const t of chain.targets) {
      if (t.kind === 'provider' && t.account && providers[t.account.type]?.selfHosted) byId.set(t.id, t);
    }
  }
  return [...byId.values()];
}

export class ModelReadiness {
  readonly #deps: ModelReadinessDeps;
  /** Target ids whose last probe failed. */
  #down = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  readonly #lifetime = new AbortController();

  constructor(deps: ModelReadinessDeps) {
    this.#deps = deps;
  }

  /** False only for a probed model whose last check failed. */
  ready(targetId: string): boolean {
    return !this.#down.has(targetId);
  }

  /** The probed models whose last check failed. */
  down(): string[] {
    return [...this.#down];
  }

  /** Checks once now (what the node first advertises is already true), then on an interval. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => {
      void this.check();
    }, this.#deps.intervalMs ?? CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lifetime.abort();
    await this.#running;
  }

  /** Probes every self-hosted model in parallel; a call while a check runs schedules one more after it. */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#checkOnce();
      } while (this.#again && !this.#lifetime.signal.aborted);
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #checkOnce(): Promise<void> {
    const down = new Set<string>();
    await Promise.all(
      probed(this.#deps.config()).map(async (t) => {
        try {
          await this.#deps.probe(t, AbortSignal.any([this.#lifetime.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]));
        } catch {
          down.add(t.id);
        }
      }),
    );
    if (this.#lifetime.signal.aborted) return;
    const changed = down.size !== this.#down.size || [...down].some((id) => !this.#down.has(id));
    this.#down = down;
    if (changed) this.#deps.onChange();
  }
}
