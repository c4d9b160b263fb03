// Reading the ledger: totals grouped by model, client, prompt, day or target over a time range, and the billing CSV.
// Raw rows and the daily totals retention rolled them into are read together, so old ranges still answer by day.
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { hasRollup } from './retention.ts';

export const USAGE_GROUPS = ['model', 'client', 'prompt', 'day', 'target'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

const GROUP_SQL: Record<UsageGroup, string> = {
  model: "coalesce(model, '')",
  client: "coalesce(client_id, '')",
  prompt: 'fingerprint',
  day: "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
  target: "coalesce(target, '')",
};

/** The same groups over daily totals; those keep no prompt fingerprint, so by prompt they add up under an empty one. */
const DAILY_GROUP_SQL: Record<UsageGroup, string> = {
  model: 'model',
  client: 'client_id',
  prompt: "''",
  day: "strftime('%Y-%m-%d', day_ts / 1000, 'unixepoch')",
  target: 'target',
};

export interface UsageTotals {
  key: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost: number;
  cost_saved: number;
  cache_hits: number;
  tokens_saved: number;
  avg_latency_ms: number;
}

export interface UsageRange {
  /** Milliseconds since the epoch, inclusive. */
  from?: number;
  /** Milliseconds since the epoch, exclusive. */
  to?: number;
}

/** Accepts epoch milliseconds or an ISO date/time; a bare date as `to` includes that whole day. */
export function parseTime(value: string | undefined, name: 'from' | 'to'): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ClientError(`${name}: expected an ISO date or epoch milliseconds, got "${value}"`, { param: name });
  return name === 'to' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? t + 86_400_000 : t;
}

export function parseGroup(value: string | undefined): UsageGroup {
  const by = value ?? 'model';
  if (!(USAGE_GROUPS as readonly string[]).includes(by)) throw new ClientError(`by: expected one of ${USAGE_GROUPS.join(', ')}, got "${by}"`, { param: 'by' });
  return by as UsageGroup;
}

/**
 * The range over `column` as SQL conditions (`AND`-joined, none for an open range): raw rows by their time, daily
 * totals by the start of their (UTC) day.
 */
export function rangeConditions(range: UsageRange, column: 'ts' | 'day_ts'): { clauses: string[]; params: number[] } {
  const clauses: string[] = [];
  const params: number[] = [];
  if (range.from !== undefined) {
    clauses.push(`${column} >= ?`);
    params.push(range.from);
  }
  if (range.to !== undefined) {
    clauses.push(`${column} < ?`);
    params.push(range.to);
  }
  return { clauses, params };
}

/** The range over `column` as a WHERE clause. */
function where(range: UsageRange, column: 'ts' | 'day_ts'): { sql: string; params: number[] } {
  const { clauses, params } = rangeConditions(range, column);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/**
 * `rawSelect` over the raw rows, and `dailySelect` (same columns) over the daily totals when the database has them:
 * one union for the outer query to add up.
 */
function bothSources(db: Db, range: UsageRange, rawSelect: string, dailySelect: string): { sql: string; params: number[] } {
  const raw = where(range, 'ts');
  const parts = [`${rawSelect} FROM usage_ledger ${raw.sql}`];
  const params = [...raw.params];
  if (hasRollup(db)) {
    const daily = where(range, 'day_ts');
    parts.push(`${dailySelect} FROM usage_daily ${daily.sql}`);
    params.push(...daily.params);
  }
  return { sql: parts.join(' UNION ALL '), params };
}

export function usageSummary(db: Db, by: UsageGroup, range: UsageRange = {}): UsageTotals[] {
  const u = bothSources(
    db,
    range,
    `SELECT ${GROUP_SQL[by]} AS key, 1 AS requests, status >= 400 AS errors, prompt_tokens, completion_tokens, cached_tokens,
      cache_write_tokens, cost, cost_saved, cache = 'hit' AS cache_hits, tokens_saved, latency_ms`,
    `SELECT ${DAILY_GROUP_SQL[by]} AS key, requests, errors, prompt_tokens, completion_tokens, cached_tokens,
      cache_write_tokens, cost, cost_saved, cache_hits, tokens_saved, latency_ms_sum AS latency_ms`,
  );
  return db
    .prepare<number[], UsageTotals>(`SELECT key, sum(requests) AS requests, sum(errors) AS errors,
      sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens,
      sum(cache_write_tokens) AS cache_write_tokens, round(sum(cost), 8) AS cost, round(sum(cost_saved), 8) AS cost_saved,
      sum(cache_hits) AS cache_hits, sum(tokens_saved) AS tokens_saved, round(sum(latency_ms) / sum(requests), 3) AS avg_latency_ms
    FROM (${u.sql}) GROUP BY key ORDER BY cost DESC, requests DESC, key`)
    .all(...u.params);
}

function csvField(v: unknown): string {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One line per client, day and model: what billing needs. */
export function usageCsv(db: Db, range: UsageRange = {}): string {
  const u = bothSources(
    db,
    range,
    `SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, coalesce(client_id, '') AS client, coalesce(model, '') AS model,
      1 AS requests, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cache = 'hit' AS cache_hits, cost`,
    `SELECT strftime('%Y-%m-%d', day_ts / 1000, 'unixepoch') AS day, client_id AS client, model,
      requests, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cache_hits, cost`,
  );
  const rows = db
    .prepare<number[], Record<string, unknown>>(`SELECT day, client, model, sum(requests) AS requests,
      sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens,
      sum(cache_write_tokens) AS cache_write_tokens, sum(cache_hits) AS cache_hits, round(sum(cost), 8) AS cost_usd
    FROM (${u.sql}) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    .all(...u.params);
  const header = ['day', 'client', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'cache_hits', 'cost_usd'];
  return [header.join(','), ...rows.map((r) => header.map((k) => csvField(r[k])).join(','))].join('\n') + '\n';
}
