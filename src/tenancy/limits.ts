// Per-key limits held in memory: sliding one-minute windows (RPM, TPM) and USD budgets whose settled spend lives in SQLite.
import type { Db } from '../core/database.ts';
import { BucketRing } from '../core/bucket-ring.ts';
import type { BudgetPeriod } from './keys.ts';

/** Float sums of prices must not refuse a request that fits exactly. */
const EPSILON_USD = 1e-9;

/** A taken amount that is corrected to the real figure (or 0) once the request has ended. */
export interface Taken {
  settle(actual: number): void;
}

export type TakeResult = { ok: true; taken: Taken } | { ok: false; retryAfterS: number; used: number; tooLarge: boolean };

/**
 * A sliding one-minute window per key: requests (RPM) or tokens (TPM), each key a ring of sixty one-second buckets.
 * A key's ring goes once its minute is empty; every take also looks at one other key, so keys that stopped calling
 * are dropped too and the map holds only keys active in the last minute.
 */
export class MinuteWindow {
  private readonly rings = new Map<string, BucketRing>();
  private sweep: Iterator<[string, BucketRing]> = this.rings.entries();

  private ring(key: string, now: number): BucketRing | undefined {
    const ring = this.rings.get(key);
    if (ring && ring.events(now) === 0) {
      this.rings.delete(key);
      return undefined;
    }
    return ring;
  }

  /** Drops one idle key, if the next one in turn is idle: O(1) per take, and every key is visited in turn. */
  private sweepOne(now: number): void {
    let next = this.sweep.next();
    if (next.done) {
      this.sweep = this.rings.entries();
      next = this.sweep.next();
    }
    if (!next.done && next.value[1].events(now) === 0) this.rings.delete(next.value[0]);
  }

  used(key: string, now = Date.now()): number {
    return this.ring(key, now)?.total(now) ?? 0;
  }

  /** Keys with something in their window: what the window keeps, whatever the traffic. */
  get keys(): number {
    return this.rings.size;
  }

  /** Takes `amount` if it fits under `limit`; otherwise says how long until enough of the window has passed. */
  take(key: string, amount: number, limit: number, now = Date.now()): TakeResult {
    this.sweepOne(now);
    let ring = this.ring(key, now);
    const used = ring?.total(now) ?? 0;
    if (used + amount > limit) {
      if (amount > limit) return { ok: false, retryAfterS: 60, used, tooLarge: true };
      const waitMs = ring ? ring.msUntilFreed(now, used + amount - limit) : 0;
      return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)), used, tooLarge: false };
    }
    if (!ring) {
      ring = new BucketRing();
      this.rings.set(key, ring);
    }
    const taken = ring;
    const ref = taken.add(now, amount);
    let held = amount;
    return {
      ok: true,
      taken: {
        settle: (actual) => {
          const value = Math.max(0, actual);
          taken.adjust(ref, value - held);
          held = value;
        },
      },
    };
  }
}

/** The UTC calendar period a moment falls in (`2025-03-07` or `2025-03`), and when it ends. */
export function periodOf(period: BudgetPeriod, now: number): { id: string; endsAt: number } {
  const d = new Date(now);
  if (period === 'day') return { id: d.toISOString().slice(0, 10), endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) };
  return { id: d.toISOString().slice(0, 7), endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

interface BudgetState {
  period: string;
  spent: number;
  reserved: number;
}

export type ReserveResult = { ok: true; taken: Taken } | { ok: false; retryAfterS: number; spent: number; inFlight: boolean };

/**
 * USD budgets: a request reserves its worst-case cost before it is sent and settles the real cost after, so concurrent
 * requests cannot overshoot. Settled spend is added to SQLite at once, so budgets survive a restart.
 */
export class Budgets {
  private readonly state = new Map<string, BudgetState>();
  private readonly read;
  private readonly add;

  constructor(db: Db) {
    this.read = db.prepare<[string, string], { usd: number }>('SELECT usd FROM tenancy_spend WHERE key_id = ? AND period = ?');
    this.add = db.prepare(
      'INSERT INTO tenancy_spend (key_id, period, usd) VALUES (?, ?, ?) ON CONFLICT (key_id, period) DO UPDATE SET usd = usd + excluded.usd',
    );
  }

  private stateOf(keyId: string, period: string): BudgetState {
    let s = this.state.get(keyId);
    if (!s || s.period !== period) {
      s = { period, spent: this.read.get(keyId, period)?.usd ?? 0, reserved: 0 };
      this.state.set(keyId, s);
    }
    return s;
  }

  /** Settled spend of a key in the current period. */
  spent(keyId: string, period: BudgetPeriod, now = Date.now()): number {
    return this.stateOf(keyId, periodOf(period, now).id).spent;
  }

  reserve(keyId: string, limitUsd: number, period: BudgetPeriod, estimateUsd: number, now = Date.now()): ReserveResult {
    const p = periodOf(period, now);
    const s = this.stateOf(keyId, p.id);
    const exhausted = s.spent >= limitUsd - EPSILON_USD;
    if (exhausted || s.spent + s.reserved + estimateUsd > limitUsd + EPSILON_USD) {
      // Blocked only by requests still in flight: their settlement may free room within seconds.
      const inFlight = !exhausted && s.spent + estimateUsd <= limitUsd + EPSILON_USD;
      return { ok: false, retryAfterS: inFlight ? 1 : Math.max(1, Math.ceil((p.endsAt - now) / 1000)), spent: s.spent, inFlight };
    }
    s.reserved += estimateUsd;
    let settled = false;
    return {
      ok: true,
      taken: {
        settle: (actualUsd) => {
          if (settled) return;
          settled = true;
          const cost = Math.max(0, actualUsd);
          const current = this.state.get(keyId);
          if (current && current.period === p.id) {
            current.reserved = Math.max(0, current.reserved - estimateUsd);
            current.spent += cost;
          }
          if (cost > 0) this.add.run(keyId, p.id, cost);
        },
      },
    };
  }
}
