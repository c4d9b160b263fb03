// Deletes stored responses past their retention, off the request path: a timer, and small batches with the event loop
// free in between, so a large backlog never stalls requests.
import type { ResponseStore } from './store.ts';

export interface RetentionOptions {
  /** Between runs. */
  intervalMs: number;
  /** Rows deleted per slice. */
  batch: number;
  /** First run after start. */
  firstRunMs?: number;
  onError?: (err: unknown) => void;
}

export const DEFAULT_RETENTION: RetentionOptions = { intervalMs: 60 * 60_000, batch: 500, firstRunMs: 30_000 };

export class RetentionJob {
  private readonly store: ResponseStore;
  private readonly opts: RetentionOptions;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = true;

  constructor(store: ResponseStore, opts: RetentionOptions = DEFAULT_RETENTION) {
    this.store = store;
    this.opts = opts;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.opts.firstRunMs ?? this.opts.intervalMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce()
        .catch((err) => this.opts.onError?.(err))
        .finally(() => this.schedule(this.opts.intervalMs));
    }, ms).unref();
  }

  /** One pass: batches until one comes back short (or the job stops); resolves with the rows deleted. */
  runOnce(): Promise<number> {
    this.running ??= (async () => {
      let total = 0;
      try {
        while (true) {
          const n = this.store.pruneBatch(this.opts.batch);
          total += n;
          if (n < this.opts.batch || this.stopped) return total;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress to finish its current slice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
