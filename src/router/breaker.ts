// A circuit breaker per target: opens after N failures within a window, half-opens after a cooldown (retry-after when given), one probe at a time.
import { BucketRing } from '../core/bucket-ring.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  failures: number;
  windowMs: number;
  cooldownMs: number;
  /** Upper bound on a cooldown asked for by retry-after. */
  maxCooldownMs: number;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private config!: BreakerSettings;
  /** Failures within the window, in sixty buckets of windowMs / 60: constant memory whatever the failure rate. */
  private recent!: BucketRing;
  private openUntil = 0;
  private probing = false;

  constructor(settings: BreakerSettings) {
    this.settings = settings;
  }

  get settings(): BreakerSettings {
    return this.config;
  }

  /** A reload may change the window: a new one starts empty. */
  set settings(settings: BreakerSettings) {
    if (!this.recent || settings.windowMs !== this.config.windowMs) this.recent = new BucketRing(settings.windowMs, 60);
    this.config = settings;
  }

  /** The state as of `now`: an open breaker whose cooldown is over reads as half-open. */
  state(now: number): BreakerState {
    return this.current === 'open' && now >= this.openUntil ? 'half-open' : this.current;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  retryInMs(now: number): number {
    return this.current === 'open' ? Math.max(0, this.openUntil - now) : 0;
  }

  /** Whether a call may go to the target now; in half-open only one probe is let through until it settles. */
  tryPass(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.current = 'half-open';
    this.probing = true;
    return true;
  }

  success(): void {
    this.current = 'closed';
    this.recent.clear();
    this.probing = false;
  }

  failure(now: number, retryAfterMs?: number | null): void {
    if (this.current === 'half-open') {
      this.open(now, retryAfterMs);
      return;
    }
    this.recent.add(now, 1);
    if (this.recent.events(now) >= this.settings.failures) this.open(now, retryAfterMs);
  }

  /** A call that was let through ended without an outcome (client gone): free the probe slot. */
  release(): void {
    this.probing = false;
  }

  private open(now: number, retryAfterMs?: number | null): void {
    const cooldown = retryAfterMs != null && retryAfterMs > 0 ? Math.min(retryAfterMs, this.settings.maxCooldownMs) : this.settings.cooldownMs;
    this.current = 'open';
    this.openUntil = now + cooldown;
    this.probing = false;
    this.recent.clear();
  }
}
