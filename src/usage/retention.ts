// Usage ledger retention: raw rows older than retention_days become daily totals per model, client and target, moved
// in small batches by a timer off the request path.
import { migrate, type Db } from '../core/database.ts';

export const DAY_MS = 86_400_000;

const MIGRATIONS = [
  {
    id: 'usage/003-daily-rollup',
    up: `CREATE TABLE usage_daily (
    day_ts INTEGER NOT NULL,
    model TEXT NOT NULL, client_id TEXT NOT NULL, target TEXT NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cost REAL NOT NULL, cost_saved REAL NOT NULL, cache_hits INTEGER NOT NULL, tokens_saved INTEGER NOT NULL,
    latency_ms_sum REAL NOT NULL,
    PRIMARY KEY (day_ts, model, client_id, target)
  ) WITHOUT ROWID`,
  },
];

/** Creates the daily table; the ledger calls this so that reports can always read it. */
export function migrateRollup(db: Db): void {
  migrate(db, MIGRATIONS);
}

/** Whether a database has daily totals (a node of an older version may have written it). */
export function hasRollup(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_daily'").get() !== undefined;
}

export interface RetentionOptions {
  /** Raw rows are kept this many days; older ones are rolled up by whole UTC days. */
  days: number;
  /** Rows moved per transaction: each batch holds the event loop a few milliseconds. */
  batchRows?: number;
  /** Pause between passes once nothing is left to move. */
  idleMs?: number;
  /** Pause between two batches of one pass. */
  busyMs?: number;
  now?: () => number;
}

/**
 * The rows of one batch: the oldest raw rows up to the batch's last time, which is before the cutoff. One upper bound,
 * so that SQLite stops its scan of the ts index there (given two, it scans up to the cutoff every time).
 */
const BATCH = 'ts <= @lastTs';

/**
 * Moves raw ledger rows older than the retention into `usage_daily`: each batch adds its rows' totals to their
 * (day, model, client, target) line and deletes them in one transaction, so a day's totals are never lost or counted
 * twice. The timer is unref'd and stopped by stop().
 */
export class UsageRetention {
  private readonly opts: Required<RetentionOptions>;
  private readonly boundary;
  private readonly rollUp;
  private readonly remove;
  private readonly moveBatch: (cutoff: number) => number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(db: Db, opts: RetentionOptions) {
    this.opts = { batchRows: 250, idleMs: 10 * 60_000, busyMs: 20, now: Date.now, ...opts };
    migrateRollup(db);
    this.boundary = db.prepare<[number, number], { ts: number }>('SELECT ts FROM usage_ledger WHERE ts < ? ORDER BY ts LIMIT 1 OFFSET ?');
    this.rollUp = db.prepare(`INSERT INTO usage_daily (day_ts, model, client_id, target, requests, errors, prompt_tokens,
        completion_tokens, cached_tokens, cache_write_tokens, cost, cost_saved, cache_hits, tokens_saved, latency_ms_sum)
      SELECT (ts / ${DAY_MS}) * ${DAY_MS}, coalesce(model, ''), coalesce(client_id, ''), coalesce(target, ''), count(*),
        sum(status >= 400), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(cost), sum(cost_saved),
        sum(cache = 'hit'), sum(tokens_saved), sum(latency_ms)
      FROM usage_ledger WHERE ${BATCH} GROUP BY 1, 2, 3, 4
      ON CONFLICT (day_ts, model, client_id, target) DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens, cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cost = cost + excluded.cost, cost_saved = cost_saved + excluded.cost_saved,
        cache_hits = cache_hits + excluded.cache_hits, tokens_saved = tokens_saved + excluded.tokens_saved,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum`);
    this.remove = db.prepare(`DELETE FROM usage_ledger WHERE ${BATCH}`);
    this.moveBatch = db.transaction((cutoff: number) => {
      // The time of the batch's last row bounds it (rows sharing that time go along); with fewer rows left than a
      // batch, every row before the cutoff.
      const last = this.boundary.get(cutoff, this.opts.batchRows - 1);
      const params = { lastTs: last?.ts ?? cutoff - 1 };
      this.rollUp.run(params);
      return this.remove.run(params).changes;
    });
  }

  /** The first instant whose rows are kept raw: the start of the UTC day `days` days ago. */
  cutoff(now = this.opts.now()): number {
    return Math.floor((now - this.opts.days * DAY_MS) / DAY_MS) * DAY_MS;
  }

  /** Rolls up and deletes one batch; returns how many raw rows it moved. */
  rollUpBatch(now = this.opts.now()): number {
    return this.moveBatch(this.cutoff(now));
  }

  /** Starts the passes: the first soon after start, then one whenever the last found nothing left to move. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(this.opts.busyMs);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => this.step(), ms);
    // Retention alone must never keep a process alive.
    this.timer.unref();
  }

  private step(): void {
    let moved = 0;
    try {
      moved = this.rollUpBatch();
    } catch {
      // A closed or busy database: try again at the next pass.
    }
    this.schedule(moved >= this.opts.batchRows ? this.opts.busyMs : this.opts.idleMs);
  }
}
