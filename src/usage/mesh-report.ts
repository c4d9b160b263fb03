// Usage across the mesh: each member's rows per day, client and model, merged into one report. A forwarded request is
// counted once, where it entered the mesh: the rows a member wrote while serving a peer's forward are left out.
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { rangeConditions, type UsageGroup, type UsageRange, type UsageTotals } from './report.ts';
import { hasRollup } from './retention.ts';

/** One member's totals for one day, client and model (the shape that travels between members). */
export type DailyRow = [
  day: string,
  client: string,
  model: string,
  requests: number,
  errors: number,
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
  cacheWriteTokens: number,
  cost: number,
  costSaved: number,
  cacheHits: number,
  tokensSaved: number,
  latencyMsSum: number,
];

export const MESH_USAGE_GROUPS = ['model', 'client', 'day'] as const;

/** A member's answer to a mesh usage query. */
export interface MemberUsage {
  peer: string;
  status: 'ok' | 'unreachable' | 'timeout' | 'error';
  rows?: number;
  error?: string;
}

/**
 * This member's rows per day, client and model over the range, except what it served for a peer (`via_peer`, or a
 * `peer:` client from before that column): the member the request entered through has its row. Days rolled up into
 * daily totals (retention) no longer know `via_peer`; there the member that served a forward counts it instead, and
 * the row of the member it entered through (its target `peer:<id>`) is left out.
 */
export function localDailyRows(db: Db, range: UsageRange = {}): DailyRow[] {
  // Appended to a WHERE that already filters out forwards served here.
  const when = (column: 'ts' | 'day_ts') => {
    const { clauses, params } = rangeConditions(range, column);
    return { sql: clauses.map((c) => ` AND ${c}`).join(''), params };
  };
  const raw = when('ts');
  const parts = [
    `SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, coalesce(client_id, '') AS client, coalesce(model, '') AS model,
      1 AS requests, status >= 400 AS errors, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cost, cost_saved,
      cache = 'hit' AS cache_hits, tokens_saved, latency_ms
    FROM usage_ledger WHERE via_peer IS NULL AND coalesce(client_id, '') NOT LIKE 'peer:%'${raw.sql}`,
  ];
  const params = [...raw.params];
  if (hasRollup(db)) {
    const daily = when('day_ts');
    parts.push(`SELECT strftime('%Y-%m-%d', day_ts / 1000, 'unixepoch'), client_id, model, requests, errors, prompt_tokens, completion_tokens,
        cached_tokens, cache_write_tokens, cost, cost_saved, cache_hits, tokens_saved, latency_ms_sum
      FROM usage_daily WHERE target NOT LIKE 'peer:%'${daily.sql}`);
    params.push(...daily.params);
  }
  return db
    .prepare<number[], unknown[]>(`SELECT day, client, model, sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens),
      sum(cached_tokens), sum(cache_write_tokens), sum(cost), sum(cost_saved), sum(cache_hits), sum(tokens_saved), sum(latency_ms)
    FROM (${parts.join(' UNION ALL ')}) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    .raw()
    .all(...params) as DailyRow[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A member's rows from the wire: each of the shape above, at most `max`, else null. */
export function parseDailyRows(input: unknown, max: number): DailyRow[] | null {
  if (!Array.isArray(input) || input.length > max) return null;
  for (const r of input) {
    if (
      !Array.isArray(r)
      || r.length !== 14
      || typeof r[0] !== 'string'
      || !DAY.test(r[0])
      || typeof r[1] !== 'string'
      || r[1].length > 256
      || typeof r[2] !== 'string'
      || r[2].length > 256
      || !r.slice(3).every(num)
    )
      return null;
  }
  return input as DailyRow[];
}

/** Sums rows of every member per day, client and model, then groups them as asked. */
export function mergeUsage(members: readonly DailyRow[][], by: UsageGroup): UsageTotals[] {
  if (!(MESH_USAGE_GROUPS as readonly string[]).includes(by)) {
    throw new ClientError(`by: a mesh-wide report groups by ${MESH_USAGE_GROUPS.join(', ')}, not "${by}"`, { param: 'by' });
  }
  const index = ({ model: 2, client: 1, day: 0 } as const)[by as (typeof MESH_USAGE_GROUPS)[number]];
  const groups = new Map<string, UsageTotals & { latencySum: number }>();
  for (const rows of members) {
    for (const r of rows) {
      const key = r[index] as string;
      let g = groups.get(key);
      if (!g) {
        g = {
          key,
          requests: 0,
          errors: 0,
          prompt_tokens: 0,
          completion_tokens: 0,
          cached_tokens: 0,
          cache_write_tokens: 0,
          cost: 0,
          cost_saved: 0,
          cache_hits: 0,
          tokens_saved: 0,
          avg_latency_ms: 0,
          latencySum: 0,
        };
        groups.set(key, g);
      }
      g.requests += r[3];
      g.errors += r[4];
      g.prompt_tokens += r[5];
      g.completion_tokens += r[6];
      g.cached_tokens += r[7];
      g.cache_write_tokens += r[8];
      g.cost += r[9];
      g.cost_saved += r[10];
      g.cache_hits += r[11];
      g.tokens_saved += r[12];
      g.latencySum += r[13];
    }
  }
  const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
  return [...groups.values()]
    .map(({ latencySum, ...g }) => ({
      ...g,
      cost: round(g.cost, 8),
      cost_saved: round(g.cost_saved, 8),
      avg_latency_ms: g.requests ? round(latencySum / g.requests, 3) : 0,
    }))
    .sort((a, b) => b.cost - a.cost || b.requests - a.requests || a.key.localeCompare(b.key));
}

/** The billing lines (per day, client and model) of every member together, as the local CSV has them. */
export function mergeUsageCsv(members: readonly DailyRow[][]): string {
  const lines = new Map<string, DailyRow>();
  for (const rows of members) {
    for (const r of rows) {
      const key = `${r[0]}\n${r[1]}\n${r[2]}`;
      const prev = lines.get(key);
      lines.set(key, prev ? (prev.map((v, i) => (i < 3 ? v : (v as number) + (r[i] as number))) as DailyRow) : ([...r] as DailyRow));
    }
  }
  const header = ['day', 'client', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'cache_hits', 'cost_usd'];
  const field = (v: unknown) => {
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const body = [...lines.keys()].sort().map((k) => {
    const r = lines.get(k)!;
    return [r[0], r[1], r[2], r[3], r[5], r[6], r[7], r[8], r[11], Math.round(r[9] * 1e8) / 1e8].map(field).join(',');
  });
  return [header.join(','), ...body].join('\n') + '\n';
}
