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
  /** The last SAMPLES latencies and outcomes, in fixed rings: recording overwrites the oldest, nothing grows. */
  private readonly latencies = new Float64Array(SAMPLES);
  private latencyCount = 0;
  private readonly outcomes = new Uint8Array(SAMPLES);
  private outcomeCount = 0;
  private recentFailures = 0;

  recordLatency(ms: number): void {
    this.latencyAvgMs = this.latencyAvgMs === undefined ? ms : ALPHA * ms + (1 - ALPHA) * this.latencyAvgMs;
    this.latencies[this.latencyCount % SAMPLES] = ms;
    this.latencyCount++;
  }

  recordOutcome(ok: boolean): void {
    this.requests++;
    if (!ok) this.failures++;
    const slot = this.outcomeCount % SAMPLES;
    // The slot's old outcome leaves the recent ones once the ring is full.
    if (this.outcomeCount >= SAMPLES) this.recentFailures -= this.outcomes[slot];
    this.outcomes[slot] = ok ? 0 : 1;
    this.recentFailures += ok ? 0 : 1;
    this.outcomeCount++;
  }

  /** The 95th percentile of recent first-byte latencies (nearest rank): a sort of at most SAMPLES numbers. */
  p95(): number | undefined {
    const n = Math.min(this.latencyCount, SAMPLES);
    if (n === 0) return undefined;
    const sorted = this.latencies.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)];
  }

  /** Share of failed attempts among the recent ones. */
  errorRate(): number {
    const n = Math.min(this.outcomeCount, SAMPLES);
    return n === 0 ? 0 : this.recentFailures / n;
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
