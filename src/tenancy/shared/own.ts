// This node's own counts per key, as it gossips them: requests and tokens per second of the last minute, budget holds per
// period (grow-only fields), and its events numbered so peers can acknowledge them, with the amounts each one took.
import type { BudgetPeriod } from '../keys.ts';
import { periodOf } from '../limits.ts';
import type { WireCell, WireKey, WireSpend } from './wire.ts';

export const WINDOW_S = 60;

export interface Cell {
  r: number;
  ti: number;
  to: number;
}
/** Events counted per key: admissions `a` (requests, with their tokens) and budget holds `h` (USD). */
export interface Events {
  a: number;
  h: number;
}
/** What this node's events not yet acknowledged by a member took, per limit. */
export interface Amounts {
  requests: number;
  tokens: number;
  usd: number;
}

interface Held {
  period: BudgetPeriod;
  hi: number;
  ho: number;
}
/** An event not yet acknowledged by every member: its number, when, and what it took. */
interface Pending {
  n: number;
  at: number;
  amount: number;
}

interface OwnKey {
  events: Events;
  cells: Map<number, Cell>;
  held: Map<string, Held>;
  pendingA: Pending[];
  pendingH: Pending[];
}

export const inWindow = (sec: number, nowSec: number): boolean => sec > nowSec - WINDOW_S && sec <= nowSec;

/** This node's settled spend as its budget store keeps it (across runs). */
export interface OwnSpend {
  spentOf(keyId: string, period: BudgetPeriod): number;
  /** Keys with spend in the current periods: a snapshot carries them even when this run held nothing for them. */
  spentKeys(): { keyId: string; period: BudgetPeriod }[];
}

export class OwnCounts {
  private readonly keys = new Map<string, OwnKey>();
  private readonly now: () => number;
  private readonly spend: OwnSpend;

  constructor(now: () => number, spend: OwnSpend) {
    this.now = now;
    this.spend = spend;
  }

  private key(keyId: string): OwnKey {
    let k = this.keys.get(keyId);
    if (!k) this.keys.set(keyId, (k = { events: { a: 0, h: 0 }, cells: new Map(), held: new Map(), pendingA: [], pendingH: [] }));
    return k;
  }

  events(keyId: string): Events {
    return this.keys.get(keyId)?.events ?? { a: 0, h: 0 };
  }

  /** Whether this node has counted the key in this run. */
  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Every key this node has counted in this run. */
  keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Keys with settled spend this period, whether or not this run counted them (what a snapshot must carry too). */
  spentKeys(): Map<string, BudgetPeriod> {
    return new Map(this.spend.spentKeys().map((s) => [s.keyId, s.period]));
  }

  /** Counts one admission and its token hold; the hold is corrected (grow-only, on either side) when the request ends. */
  admit(keyId: string, tokens: number): { settleTokens(actual: number): void } {
    const now = this.now();
    const sec = Math.floor(now / 1000);
    const k = this.key(keyId);
    k.pendingA.push({ n: ++k.events.a, at: now, amount: tokens });
    let cell = k.cells.get(sec);
    if (!cell) k.cells.set(sec, (cell = { r: 0, ti: 0, to: 0 }));
    cell.r++;
    cell.ti += tokens;
    const c = cell;
    let held = tokens;
    return {
      settleTokens: (actual) => {
        const value = Math.max(0, actual);
        if (value < held) c.to += held - value;
        else c.ti += value - held;
        held = value;
      },
    };
  }

  /** Counts a budget hold of `usd`; `release` when the attempt's hold ends (its real cost is settled spend then). */
  hold(keyId: string, period: BudgetPeriod, usd: number): { release(): void } {
    const now = this.now();
    const pid = periodOf(period, now).id;
    const k = this.key(keyId);
    k.pendingH.push({ n: ++k.events.h, at: now, amount: usd });
    let h = k.held.get(pid);
    if (!h) k.held.set(pid, (h = { period, hi: 0, ho: 0 }));
    h.hi += usd;
    const entry = h;
    let open = true;
    return {
      release: () => {
        if (!open) return;
        open = false;
        entry.ho += usd;
      },
    };
  }

  /** What the events after `acked` took (the members in contact acknowledged up to it). */
  unconfirmed(keyId: string, acked: Events): Amounts {
    const k = this.keys.get(keyId);
    const out = { requests: 0, tokens: 0, usd: 0 };
    for (const p of k?.pendingA ?? [])
      if (p.n > acked.a) {
        out.requests++;
        out.tokens += p.amount;
      }
    for (const p of k?.pendingH ?? []) if (p.n > acked.h) out.usd += p.amount;
    return out;
  }

  /** Forgets events every member acknowledged, and any older than the window (a member back after that is re-synced). */
  confirm(keyId: string, acked: Events): void {
    const k = this.keys.get(keyId);
    if (!k) return;
    const old = this.now() - WINDOW_S * 1000;
    k.pendingA = k.pendingA.filter((p) => p.n > acked.a && p.at > old);
    k.pendingH = k.pendingH.filter((p) => p.n > acked.h && p.at > old);
  }

  /** Requests and tokens per second of the window. */
  cells(keyId: string): Map<number, Cell> | undefined {
    return this.keys.get(keyId)?.cells;
  }

  /** Drops seconds past the window and holds of past periods; a key keeps its event numbers (acknowledgements refer to them). */
  prune(): void {
    const now = this.now();
    const nowSec = Math.floor(now / 1000);
    const current = new Set([periodOf('day', now).id, periodOf('month', now).id]);
    for (const k of this.keys.values()) {
      for (const sec of k.cells.keys()) if (sec <= nowSec - WINDOW_S) k.cells.delete(sec);
      for (const pid of k.held.keys()) if (!current.has(pid)) k.held.delete(pid);
    }
  }

  /** The key's state as it travels: event numbers, the window's seconds, and per period spend and holds. */
  wire(keyId: string, spentPeriod?: BudgetPeriod): WireKey {
    const now = this.now();
    const nowSec = Math.floor(now / 1000);
    const k = this.keys.get(keyId);
    const out: WireKey = { k: keyId, a: k?.events.a ?? 0, h: k?.events.h ?? 0 };
    const r: WireCell[] = [];
    for (const [sec, c] of k?.cells ?? []) if (inWindow(sec, nowSec)) r.push([sec, c.r, c.ti, c.to]);
    const s: WireSpend[] = [];
    for (const [pid, h] of k?.held ?? []) s.push([pid, this.spend.spentOf(keyId, h.period), h.hi, h.ho]);
    if (spentPeriod && !k?.held.has(periodOf(spentPeriod, now).id)) s.push([periodOf(spentPeriod, now).id, this.spend.spentOf(keyId, spentPeriod), 0, 0]);
    if (r.length) out.r = r;
    if (s.length) out.s = s;
    return out;
  }
}
