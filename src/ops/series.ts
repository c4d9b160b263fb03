// A ring buffer of per-second request rate and mean latency, fed by running totals and sampled by one timer.

export interface SeriesPoint {
  /** Unix time in ms at the end of the second. */
  t: number;
  /** Requests finished per second. */
  rate: number;
  /** Mean duration in ms of the requests that finished in that second (0 when none did). */
  latencyMs: number;
}

export class RateSeries {
  private readonly points: SeriesPoint[] = [];
  private count = 0;
  private durationMs = 0;
  private last = { t: Date.now(), count: 0, durationMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  /** Called once per finished request. */
  record(durationMs: number): void {
    this.count += 1;
    this.durationMs += durationMs;
  }

  get totalRequests(): number {
    return this.count;
  }

  /** Closes the current interval into a point; the timer calls this every second, tests may call it directly. */
  sample(now = Date.now()): SeriesPoint {
    const dt = Math.max(1, now - this.last.t) / 1000;
    const n = this.count - this.last.count;
    const point = { t: now, rate: n / dt, latencyMs: n > 0 ? (this.durationMs - this.last.durationMs) / n : 0 };
    this.last = { t: now, count: this.count, durationMs: this.durationMs };
    this.points.push(point);
    if (this.points.length > this.size) this.points.shift();
    return point;
  }

  snapshot(): SeriesPoint[] {
    return [...this.points];
  }

  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.last = { t: Date.now(), count: this.count, durationMs: this.durationMs };
    this.timer = setInterval(() => this.sample(), intervalMs);
    // The sampler alone must never keep a process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
