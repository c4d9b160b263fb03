// What the router remembers about each target: first-byte latency, outcomes and load, kept across config reloads.
import { CircuitBreaker, type BreakerSettings } from './breaker.ts';
import { UsageWindow } from './limits.ts';

/** Enough recent samples for a stable p95 without remembering a target's whole history. */
const SAMPLES = 100;
/** Weight of the newest sample in the moving average. */
const ALPHA = 0.3;

export class TargetStats {
  /** Exponential moving average of first-byte latency; undefined until the first success. */
  latencyAvgMs: number | undefined;
  requests = 0;
  failures = 0;
  inFlight = 0;
  private latencies: number[] = [];
  private outcomes: boolean[] = [];

  recordLatency(ms: number): void {
    this.latencyAvgMs = this.latencyAvgMs === undefined ? ms : ALPHA * ms + (1 - ALPHA) * this.latencyAvgMs;
    this.latencies.push(ms);
    if (this.latencies.length > SAMPLES) this.latencies.shift();
  }

  recordOutcome(ok: boolean): void {
    this.requests++;
    if (!ok) this.failures++;
    this.outcomes.push(ok);
    if (this.outcomes.length > SAMPLES) this.outcomes.shift();
  }

  /** The 95th percentile of recent first-byte latencies (nearest rank). */
  p95(): number | undefined {
    if (this.latencies.length === 0) return undefined;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
  }

  /** Share of failed attempts among the recent ones. */
  errorRate(): number {
    return this.outcomes.length === 0 ? 0 : this.outcomes.filter((ok) => !ok).length / this.outcomes.length;
  }
}

export interface TargetState {
  stats: TargetStats;
  breaker: CircuitBreaker;
  usage: UsageWindow;
}

/** Per-target state by target id; a reload keeps the state of ids that survive and drops the rest. */
export class TargetStates {
  private readonly byId = new Map<string, TargetState>();
  private settings: BreakerSettings;

  constructor(settings: BreakerSettings) {
    this.settings = settings;
  }

  get(id: string): TargetState {
    let s = this.byId.get(id);
    if (!s) {
      s = { stats: new TargetStats(), breaker: new CircuitBreaker(this.settings), usage: new UsageWindow() };
      this.byId.set(id, s);
    }
    return s;
  }

  peek(id: string): TargetState | undefined {
    return this.byId.get(id);
  }

  retain(ids: Set<string>, settings: BreakerSettings): void {
    this.settings = settings;
    for (const [id, s] of this.byId) {
      if (ids.has(id)) s.breaker.settings = settings;
      else this.byId.delete(id);
    }
  }
}
