// The mesh's totals for one key, as this node can tell them: its own counts, the heard counts of members in contact,
// and at least the share of the limit of each member out of contact.
import type { BudgetPeriod } from '../keys.ts';
import { periodOf } from '../limits.ts';
import { inWindow, WINDOW_S, type Cell } from './own.ts';
import type { Peer } from './peers.ts';

const EPSILON = 1e-9;

export interface RateView {
  requests: number;
  tokens: number;
  /** What was actually counted (this node's and the heard), without the shares reserved for members out of contact. */
  heard: { requests: number; tokens: number };
  /** Members out of contact, whose shares are reserved. */
  reserved: number;
  /** Seconds until enough of the window has passed for `requests`/`tokens` more to fit, from the counts heard. */
  retryAfterS(extraRequests: number, extraTokens: number, limits: { rpm?: number; tpm?: number }): number;
}

export interface OthersSpend {
  committed: number;
  seen: number;
  reserved: number;
}

/** Requests and tokens of the key in the last minute, mesh-wide (see the file's first line). */
export function rateView(
  own: Map<number, Cell> | undefined,
  members: Peer[],
  keyId: string,
  limits: { rpm?: number; tpm?: number },
  now: number,
  inContact: (p: Peer) => boolean,
): RateView {
  const nowSec = Math.floor(now / 1000);
  const perSec = new Map<number, { r: number; t: number }>();
  const add = (cells: Map<number, Cell> | undefined, into: { r: number; t: number }) => {
    for (const [sec, c] of cells ?? []) {
      // A member's clock a little ahead still counts its cells now; older than the window, they have expired.
      const at = Math.min(sec, nowSec);
      if (!inWindow(at, nowSec)) continue;
      into.r += c.r;
      into.t += c.ti - c.to;
      const s = perSec.get(at) ?? { r: 0, t: 0 };
      s.r += c.r;
      s.t += c.ti - c.to;
      perSec.set(at, s);
    }
  };
  const total = { r: 0, t: 0 };
  add(own, total);
  const divisor = members.length + 1;
  let reservedR = 0;
  let reservedT = 0;
  let reserved = 0;
  for (const p of members) {
    const seen = { r: 0, t: 0 };
    for (const cells of p.keys.get(keyId)?.cells.values() ?? []) add(cells, seen);
    total.r += seen.r;
    total.t += seen.t;
    if (inContact(p)) continue;
    reserved++;
    if (limits.rpm !== undefined) reservedR += Math.max(0, limits.rpm / divisor - seen.r);
    if (limits.tpm !== undefined) reservedT += Math.max(0, limits.tpm / divisor - seen.t);
  }
  return {
    requests: total.r + reservedR,
    tokens: total.t + reservedT,
    heard: { requests: total.r, tokens: total.t },
    reserved,
    retryAfterS: (extraR, extraT, l) => {
      // Walk the seconds oldest first until what remains (with the reserved shares, which do not expire) fits.
      let r = total.r + reservedR;
      let t = total.t + reservedT;
      const fits = () => (l.rpm === undefined || r + extraR <= l.rpm + EPSILON) && (l.tpm === undefined || t + extraT <= l.tpm + EPSILON);
      for (const sec of [...perSec.keys()].sort((a, b) => a - b)) {
        const s = perSec.get(sec)!;
        r -= s.r;
        t -= s.t;
        if (fits()) return Math.max(1, Math.ceil(sec + WINDOW_S - now / 1000));
      }
      return WINDOW_S;
    },
  };
}

/**
 * What the other members have committed of the key's budget in the current period: settled plus held, as heard, and
 * at least their share of `limitUsd` for each one out of contact. `seen` is the settled part actually heard.
 */
export function othersSpendView(
  members: Peer[],
  keyId: string,
  period: BudgetPeriod,
  limitUsd: number,
  now: number,
  inContact: (p: Peer) => boolean,
): OthersSpend {
  const pid = periodOf(period, now).id;
  const share = limitUsd / (members.length + 1);
  let committed = 0;
  let seen = 0;
  let reserved = 0;
  for (const p of members) {
    const s = p.keys.get(keyId)?.spend.get(pid);
    const theirs = s ? s.spent + Math.max(0, s.hi - s.ho) : 0;
    seen += s?.spent ?? 0;
    if (inContact(p)) committed += theirs;
    else {
      committed += Math.max(theirs, share);
      reserved++;
    }
  }
  return { committed, seen, reserved };
}

/** Requests of a key one member counted in the last minute, as heard. */
export function countedView(p: Peer, keyId: string, now: number): number {
  const nowSec = Math.floor(now / 1000);
  let n = 0;
  for (const cells of p.keys.get(keyId)?.cells.values() ?? []) for (const [sec, c] of cells) if (inWindow(Math.min(sec, nowSec), nowSec)) n += c.r;
  return n;
}
