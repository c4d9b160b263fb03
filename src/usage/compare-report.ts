// Reading the comparisons: per prompt fingerprint, how the candidate did against the primary on cost, latency and agreement.
import type { Db } from '../core/database.ts';
import type { UsageRange } from './report.ts';

export interface CompareTotals {
  fingerprint: string;
  chain: string;
  candidate_target: string;
  samples: number;
  failed: number;
  primary_cost: number;
  candidate_cost: number;
  /** primary − candidate over the samples: what switching would have saved (negative: it would cost more). */
  cost_saved: number;
  primary_latency_ms: number;
  candidate_latency_ms: number;
  /** candidate − primary mean latency. */
  latency_change_ms: number;
  agreement: number | null;
  judge_score: number | null;
}

export function compareReport(db: Db, range: UsageRange = {}): CompareTotals[] {
  const clauses: string[] = [];
  const params: number[] = [];
  if (range.from !== undefined) {
    clauses.push('ts >= ?');
    params.push(range.from);
  }
  if (range.to !== undefined) {
    clauses.push('ts < ?');
    params.push(range.to);
  }
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'compare_samples'").get();
  if (!hasTable) return [];
  return db
    .prepare<number[], CompareTotals>(`SELECT fingerprint, chain, candidate_target, count(*) AS samples,
      sum(candidate_error IS NOT NULL) AS failed,
      round(sum(primary_cost), 8) AS primary_cost, round(coalesce(sum(candidate_cost), 0), 8) AS candidate_cost,
      round(sum(CASE WHEN candidate_error IS NULL THEN primary_cost - coalesce(candidate_cost, 0) ELSE 0 END), 8) AS cost_saved,
      round(avg(primary_latency_ms), 3) AS primary_latency_ms, round(avg(candidate_latency_ms), 3) AS candidate_latency_ms,
      round(avg(candidate_latency_ms) - avg(primary_latency_ms), 3) AS latency_change_ms,
      round(avg(agreement), 4) AS agreement, round(avg(judge_score), 2) AS judge_score
    FROM compare_samples ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
    GROUP BY fingerprint, chain, candidate_target ORDER BY samples DESC, fingerprint`)
    .all(...params);
}
