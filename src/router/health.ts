// Optional active health checks: probe every target on an interval; a pass closes its breaker, a failure counts against it.
import type { TargetConfig } from '../config/index.ts';
import { UpstreamError } from '../core/errors.ts';
import type { TargetStates } from './stats.ts';
import type { Logger } from '../core/logger.ts';
import type { TargetProbe } from './types.ts';

export interface HealthCheckDeps {
  intervalMs: number;
  targets: () => TargetConfig[];
  probe: TargetProbe;
  states: TargetStates;
  now: () => number;
  log: Logger;
}

export class HealthChecker {
  private readonly deps: HealthCheckDeps;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly aborts = new AbortController();

  constructor(deps: HealthCheckDeps) {
    this.deps = deps;
  }

  start(): void {
    if (this.timer || this.deps.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.checkAll().finally(() => {
        this.running = undefined;
      });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.aborts.abort();
    await this.running;
  }

  /** One round of probes, in parallel, each bounded by the interval (and 5 s). */
  async checkAll(): Promise<void> {
    const { probe, states, now, log, intervalMs } = this.deps;
    const timeout = Math.min(intervalMs || 5_000, 5_000);
    await Promise.all(
      this.deps.targets().map(async (target) => {
        const { breaker } = states.get(target.id);
        try {
          if (!(await probe(target, AbortSignal.any([this.aborts.signal, AbortSignal.timeout(timeout)])))) return;
          if (breaker.state(now()) !== 'closed') log.info({ target: target.id }, 'health check passed: circuit closed');
          breaker.success();
        } catch (err) {
          if (this.aborts.signal.aborted) return;
          breaker.failure(now(), err instanceof UpstreamError ? err.retryAfterMs : null);
          log.debug({ target: target.id, reason: err instanceof Error ? err.message : String(err) }, 'health check failed');
        }
      }),
    );
  }
}
