// Per-key counters shared by the members of a mesh. Each member counts only its own requests, tokens and spend (grow-only
// within its run, so any copy merges by taking the maximum per field) and gossips them; every member adds up what it has
// heard. Two rules give the overspend bound (see SECURITY.md): a member admits at most `unconfirmed` requests (and budget
// holds) per key that a member in contact has not acknowledged yet, and a member out of contact is assumed to use at
// least its share of every limit (limit / members).
import type { BudgetPeriod } from '../keys.ts';
import { periodOf } from '../limits.ts';
import { ACKS_PER_MESSAGE, KEYS_PER_MESSAGE, type LimitsMessage, type WireAck, type WireCell, type WireKey, type WireSpend } from './wire.ts';

export interface SharedLimitsOptions {
  /** Admissions (and budget holds) per key a member may make before every member in contact has acknowledged them. */
  unconfirmed: number;
  /** A member not heard from for this long is out of contact. */
  contactTimeoutMs: number;
  /** A member not heard from for this long no longer counts towards the shares. */
  memberHorizonMs: number;
}

/** Remembered members and their settled spend, so a restarted node reserves their shares until it hears them again. */
export interface SharedStore {
  members(): { peer: string; lastSeen: number }[];
  spend(): { peer: string; keyId: string; period: string; usd: number }[];
  save(members: { peer: string; lastSeen: number }[], spend: { peer: string; keyId: string; period: string; usd: number }[]): void;
}

const WINDOW_S = 60;
const EPSILON = 1e-9;

interface Cell { r: number; ti: number; to: number }
interface Events { a: number; h: number }
interface Held { period: BudgetPeriod; hi: number; ho: number }
interface PeerSpend { spent: number; hi: number; ho: number; epoch: number }

interface PeerKey {
  events: Events;
  /** Cells per run of the peer (a restarted peer counts anew; its previous run's last minute still counts). */
  cells: Map<number, Map<number, Cell>>;
  spend: Map<string, PeerSpend>;
}

interface Peer {
  id: string;
  epoch: number;
  lastHeard: number;
  /** Whether this node holds the peer's whole state: a full snapshot since its run began or it was last out of contact. */
  synced: boolean;
  snapshot: { id: number; got: Set<number> } | null;
  /** Whom the peer said it hears, in its latest message. */
  hears: Set<string>;
  keys: Map<string, PeerKey>;
  /** The peer's acknowledgements of this node's own events, per key. */
  acks: Map<string, Events>;
}

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

export interface MemberStatus {
  peer: string;
  inContact: boolean;
  /** Why not, when not in contact. */
  state: 'in contact' | 'silent' | 'not synced' | 'does not hear us';
  lastHeardS: number | null;
}

export interface SharedStatus {
  epoch: number;
  unconfirmed: number;
  members: MemberStatus[];
  /** Each limit's share a member out of contact is assumed to use: 1 / (members + 1). */
  shareOf: number;
  mode: 'alone' | 'mesh-wide' | 'partitioned';
}

export class SharedCounters {
  readonly epoch: number;
  readonly options: SharedLimitsOptions;
  private me = '';
  private readonly now: () => number;
  private readonly spentOf: (keyId: string, period: BudgetPeriod) => number;
  private readonly store?: SharedStore;
  private readonly events = new Map<string, Events>();
  private readonly cells = new Map<string, Map<number, Cell>>();
  private readonly held = new Map<string, Map<string, Held>>();
  private readonly peers = new Map<string, Peer>();
  /** Own keys changed since the last message, and keys of peers to acknowledge. */
  private readonly changed = new Set<string>();
  private readonly toAck = new Set<string>();
  private snapshotId = 0;
  /** Whom this node hears changed (a peer became synced): say so at once, it completes that peer's contact. */
  private hearsChanged = false;
  private readonly changeListeners = new Set<() => void>();
  private readonly ackListeners = new Set<() => void>();

  constructor(options: SharedLimitsOptions, deps: { spentOf: (keyId: string, period: BudgetPeriod) => number; store?: SharedStore; now?: () => number }) {
    this.options = options;
    this.now = deps.now ?? Date.now;
    this.spentOf = deps.spentOf;
    this.store = deps.store;
    this.epoch = this.now() * 1000 + Math.floor(Math.random() * 1000);
    for (const m of deps.store?.members() ?? []) this.peer(m.peer).lastHeard = m.lastSeen;
    for (const s of deps.store?.spend() ?? []) {
      this.peerKey(this.peer(s.peer), s.keyId).spend.set(s.period, { spent: s.usd, hi: 0, ho: 0, epoch: 0 });
    }
  }

  /** This node's peer id, once known: it is what peers list when they hear it. */
  setSelf(peerId: string): void {
    this.me = peerId;
    this.peers.delete(peerId);
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Told when a peer acknowledges more of this node's events (admissions waiting for them may go on). */
  onAck(listener: () => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  private touched(keyId: string): void {
    this.changed.add(keyId);
    for (const l of this.changeListeners) l();
  }

  private peer(id: string): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = { id, epoch: 0, lastHeard: 0, synced: false, snapshot: null, hears: new Set(), keys: new Map(), acks: new Map() };
      this.peers.set(id, p);
    }
    return p;
  }

  private peerKey(p: Peer, keyId: string): PeerKey {
    let k = p.keys.get(keyId);
    if (!k) {
      k = { events: { a: 0, h: 0 }, cells: new Map(), spend: new Map() };
      p.keys.set(keyId, k);
    }
    return k;
  }

  private ownEvents(keyId: string): Events {
    let e = this.events.get(keyId);
    if (!e) {
      e = { a: 0, h: 0 };
      this.events.set(keyId, e);
    }
    return e;
  }

  // ---- who counts ----

  /** Members heard within the horizon (remembered ones included): the shares are taken among them and this node. */
  private members(now: number): Peer[] {
    return [...this.peers.values()].filter((p) => p.lastHeard > 0 && now - p.lastHeard <= this.options.memberHorizonMs);
  }

  private hearsFromOurSide(p: Peer, now: number): boolean {
    return p.synced && now - p.lastHeard <= this.options.contactTimeoutMs;
  }

  /** In contact: each side holds the other's whole state and has heard from it recently. */
  private inContact(p: Peer, now: number): boolean {
    return this.hearsFromOurSide(p, now) && p.hears.has(this.me);
  }

  private shareDivisor(now: number): number {
    return this.members(now).length + 1;
  }

  // ---- this node's own counts ----

  /** Counts one admission and its token hold now; the hold is corrected to the real figure when the request ends. */
  admitted(keyId: string, tokens: number): { settleTokens(actual: number): void } {
    const now = this.now();
    const sec = Math.floor(now / 1000);
    this.ownEvents(keyId).a++;
    let cells = this.cells.get(keyId);
    if (!cells) this.cells.set(keyId, (cells = new Map()));
    let cell = cells.get(sec);
    if (!cell) cells.set(sec, (cell = { r: 0, ti: 0, to: 0 }));
    cell.r++;
    cell.ti += tokens;
    this.touched(keyId);
    const c = cell;
    let held = tokens;
    return {
      settleTokens: (actual) => {
        const value = Math.max(0, actual);
        // Grow-only fields: a lower figure is tokens given back, a higher one more tokens taken.
        if (value < held) c.to += held - value;
        else c.ti += value - held;
        held = value;
        this.touched(keyId);
      },
    };
  }

  /** Counts a budget hold of `usd` now; `release` when the attempt's hold ends (its real cost is settled spend then). */
  holding(keyId: string, period: BudgetPeriod, usd: number): { release(): void } {
    const pid = periodOf(period, this.now()).id;
    this.ownEvents(keyId).h++;
    let byPeriod = this.held.get(keyId);
    if (!byPeriod) this.held.set(keyId, (byPeriod = new Map()));
    let h = byPeriod.get(pid);
    if (!h) byPeriod.set(pid, (h = { period, hi: 0, ho: 0 }));
    h.hi += usd;
    this.touched(keyId);
    const entry = h;
    let open = true;
    return {
      release: () => {
        if (!open) return;
        open = false;
        entry.ho += usd;
        this.touched(keyId);
      },
    };
  }

  /** Requests of a key a member counted in the last minute as heard here, when it is in contact; else null. */
  countedBy(peerId: string, keyId: string): number | null {
    const now = this.now();
    const p = this.peers.get(peerId);
    if (!p || !this.inContact(p, now)) return null;
    const nowSec = Math.floor(now / 1000);
    let n = 0;
    for (const cells of p.keys.get(keyId)?.cells.values() ?? []) {
      for (const [sec, c] of cells) if (this.inWindow(Math.min(sec, nowSec), nowSec)) n += c.r;
    }
    return n;
  }

  /** How far a key's totals may pass its limit while members are in contact: (members − 1) × unconfirmed. */
  slack(): number {
    return this.members(this.now()).length * this.options.unconfirmed;
  }

  /** Own events (admissions `a`, holds `h`) of a key that some member in contact has not acknowledged yet. */
  unconfirmed(keyId: string, dim: keyof Events): number {
    const now = this.now();
    const own = this.events.get(keyId)?.[dim] ?? 0;
    let gap = 0;
    for (const p of this.peers.values()) {
      if (!this.inContact(p, now)) continue;
      gap = Math.max(gap, own - (p.acks.get(keyId)?.[dim] ?? 0));
    }
    return gap;
  }

  // ---- merged views ----

  private inWindow(sec: number, nowSec: number): boolean {
    return sec > nowSec - WINDOW_S && sec <= nowSec;
  }

  /**
   * Requests and tokens of the key in the last minute, mesh-wide: this node's, each member in contact's as heard, and
   * for each member out of contact at least its share of the limit.
   */
  rate(keyId: string, limits: { rpm?: number; tpm?: number }): RateView {
    const now = this.now();
    const nowSec = Math.floor(now / 1000);
    const perSec = new Map<number, { r: number; t: number }>();
    const add = (cells: Map<number, Cell> | undefined, into: { r: number; t: number }) => {
      for (const [sec, c] of cells ?? []) {
        // A peer's clock a little ahead still counts its cells now; older than the window, they have expired.
        const at = Math.min(sec, nowSec);
        if (!this.inWindow(at, nowSec)) continue;
        into.r += c.r;
        into.t += c.ti - c.to;
        const s = perSec.get(at) ?? { r: 0, t: 0 };
        s.r += c.r;
        s.t += c.ti - c.to;
        perSec.set(at, s);
      }
    };
    const total = { r: 0, t: 0 };
    add(this.cells.get(keyId), total);
    const divisor = this.shareDivisor(now);
    let reservedR = 0;
    let reservedT = 0;
    let reserved = 0;
    for (const p of this.members(now)) {
      const seen = { r: 0, t: 0 };
      const pk = p.keys.get(keyId);
      for (const cells of pk?.cells.values() ?? []) add(cells, seen);
      total.r += seen.r;
      total.t += seen.t;
      if (this.inContact(p, now)) continue;
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
          if (fits()) return Math.max(1, Math.ceil((sec + WINDOW_S) - now / 1000));
        }
        return WINDOW_S;
      },
    };
  }

  /**
   * What the other members have committed of the key's budget in the current period: settled plus held, as heard, and
   * at least their share of `limitUsd` for each one out of contact. `seen` is the part actually heard.
   */
  othersSpend(keyId: string, period: BudgetPeriod, limitUsd: number): { committed: number; seen: number; reserved: number } {
    const now = this.now();
    const pid = periodOf(period, now).id;
    const share = limitUsd / this.shareDivisor(now);
    let committed = 0;
    let seen = 0;
    let reserved = 0;
    for (const p of this.members(now)) {
      const s = p.keys.get(keyId)?.spend.get(pid);
      const theirs = s ? s.spent + Math.max(0, s.hi - s.ho) : 0;
      seen += s?.spent ?? 0;
      if (this.inContact(p, now)) committed += theirs;
      else {
        committed += Math.max(theirs, share);
        reserved++;
      }
    }
    return { committed, seen, reserved };
  }

  // ---- exchange ----

  /** Merges a peer's message; says whether this node should send its own snapshot (the peer is new, restarted or back). */
  receive(origin: string, msg: LimitsMessage): { snapshot: boolean } {
    if (!this.me || origin === this.me) return { snapshot: false };
    const now = this.now();
    const p = this.peer(origin);
    if (msg.e < p.epoch) return { snapshot: false };
    let snapshot = false;
    if (msg.e > p.epoch) {
      // A new run of the peer: it knows nothing of us yet, and its acknowledgements start again.
      p.epoch = msg.e;
      p.synced = false;
      p.snapshot = null;
      p.acks.clear();
      for (const k of p.keys.values()) k.events = { a: 0, h: 0 };
      snapshot = true;
    } else if (now - p.lastHeard > this.options.contactTimeoutMs) {
      // Back after a silence: what it did meanwhile is unknown until its next snapshot, and it missed ours.
      p.synced = false;
      p.snapshot = null;
      snapshot = true;
    }
    p.lastHeard = now;
    p.hears = new Set(msg.hears);
    for (const k of msg.keys ?? []) this.mergeKey(p, k, msg.e);
    let acked = false;
    for (const [o, e, key, a, h] of msg.acks ?? []) {
      if (o !== this.me || e !== this.epoch) continue;
      const prev = p.acks.get(key) ?? { a: 0, h: 0 };
      if (a > prev.a || h > prev.h) {
        p.acks.set(key, { a: Math.max(a, prev.a), h: Math.max(h, prev.h) });
        acked = true;
      }
    }
    if (msg.snap) {
      if (p.snapshot?.id !== msg.snap.id) p.snapshot = { id: msg.snap.id, got: new Set() };
      p.snapshot.got.add(msg.snap.part);
      if (p.snapshot.got.size === msg.snap.parts) {
        p.synced = true;
        p.snapshot = null;
        this.hearsChanged = true;
      }
    }
    if (acked || msg.snap) for (const l of this.ackListeners) l();
    return { snapshot };
  }

  private mergeKey(p: Peer, k: WireKey, epoch: number): void {
    const pk = this.peerKey(p, k.k);
    pk.events = { a: Math.max(pk.events.a, k.a), h: Math.max(pk.events.h, k.h) };
    this.toAck.add(`${p.id}\n${k.k}`);
    if (k.r) {
      let cells = pk.cells.get(epoch);
      if (!cells) pk.cells.set(epoch, (cells = new Map()));
      for (const [sec, r, ti, to] of k.r) {
        const c = cells.get(sec);
        if (!c) cells.set(sec, { r, ti, to });
        else { c.r = Math.max(c.r, r); c.ti = Math.max(c.ti, ti); c.to = Math.max(c.to, to); }
      }
    }
    for (const [pid, spent, hi, ho] of k.s ?? []) {
      const s = pk.spend.get(pid);
      if (!s) pk.spend.set(pid, { spent, hi, ho, epoch });
      else if (epoch > s.epoch) Object.assign(s, { spent: Math.max(s.spent, spent), hi, ho, epoch });
      else Object.assign(s, { spent: Math.max(s.spent, spent), hi: Math.max(s.hi, hi), ho: Math.max(s.ho, ho) });
    }
  }

  /** Drops cells older than the window and spend of past periods; keeps every key's event counts (acks refer to them). */
  prune(): void {
    const now = this.now();
    const nowSec = Math.floor(now / 1000);
    const current = new Set([periodOf('day', now).id, periodOf('month', now).id]);
    const expire = (cells: Map<number, Cell>) => { for (const sec of cells.keys()) if (sec <= nowSec - WINDOW_S) cells.delete(sec); };
    for (const [key, cells] of this.cells) { expire(cells); if (cells.size === 0) this.cells.delete(key); }
    for (const [key, byPeriod] of this.held) {
      for (const pid of byPeriod.keys()) if (!current.has(pid)) byPeriod.delete(pid);
      if (byPeriod.size === 0) this.held.delete(key);
    }
    for (const p of this.peers.values()) {
      if (p.lastHeard > 0 && now - p.lastHeard > this.options.memberHorizonMs) { this.peers.delete(p.id); continue; }
      for (const pk of p.keys.values()) {
        for (const [epoch, cells] of pk.cells) { expire(cells); if (cells.size === 0) pk.cells.delete(epoch); }
        for (const pid of pk.spend.keys()) if (!current.has(pid)) pk.spend.delete(pid);
      }
    }
  }

  private wireKey(keyId: string, now: number): WireKey {
    const e = this.events.get(keyId) ?? { a: 0, h: 0 };
    const nowSec = Math.floor(now / 1000);
    const r: WireCell[] = [];
    for (const [sec, c] of this.cells.get(keyId) ?? []) if (this.inWindow(sec, nowSec)) r.push([sec, c.r, c.ti, c.to]);
    const s: WireSpend[] = [];
    for (const [pid, h] of this.held.get(keyId) ?? []) s.push([pid, this.spentOf(keyId, h.period), h.hi, h.ho]);
    const out: WireKey = { k: keyId, a: e.a, h: e.h };
    if (r.length) out.r = r;
    if (s.length) out.s = s;
    return out;
  }

  /** Whom this node hears: the `hears` of its messages. */
  private hearing(now: number): string[] {
    return [...this.peers.values()].filter((p) => this.hearsFromOurSide(p, now)).map((p) => p.id);
  }

  /**
   * The messages to publish now. A delta carries the keys changed since the last one, every key with events a member
   * in contact has not acknowledged (so a lost message cannot stall an admission), and acknowledgements of what was
   * received; a snapshot carries everything, in parts.
   */
  outgoing(kind: 'delta' | 'snapshot'): LimitsMessage[] {
    const now = this.now();
    const hears = this.hearing(now);
    let keyIds: string[];
    let acks: WireAck[];
    if (kind === 'snapshot') {
      keyIds = [...new Set([...this.cells.keys(), ...this.held.keys(), ...this.events.keys()])];
      acks = [];
      for (const p of this.peers.values()) for (const [key, pk] of p.keys) acks.push([p.id, p.epoch, key, pk.events.a, pk.events.h]);
    } else {
      const pending = [...this.events.keys()].filter((k) => this.unconfirmed(k, 'a') > 0 || this.unconfirmed(k, 'h') > 0);
      keyIds = [...new Set([...this.changed, ...pending])];
      acks = [];
      for (const item of this.toAck) {
        const [peerId, key] = item.split('\n');
        const p = this.peers.get(peerId);
        const pk = p?.keys.get(key);
        if (p && pk) acks.push([p.id, p.epoch, key, pk.events.a, pk.events.h]);
      }
    }
    this.changed.clear();
    this.toAck.clear();
    this.hearsChanged = false;
    const keys = keyIds.map((k) => this.wireKey(k, now));
    const parts = Math.max(1, Math.ceil(keys.length / KEYS_PER_MESSAGE), Math.ceil(acks.length / ACKS_PER_MESSAGE));
    const id = kind === 'snapshot' ? ++this.snapshotId : 0;
    const out: LimitsMessage[] = [];
    for (let part = 0; part < parts; part++) {
      const m: LimitsMessage = { v: 1, e: this.epoch, hears };
      const ks = keys.slice(part * KEYS_PER_MESSAGE, (part + 1) * KEYS_PER_MESSAGE);
      const as = acks.slice(part * ACKS_PER_MESSAGE, (part + 1) * ACKS_PER_MESSAGE);
      if (ks.length) m.keys = ks;
      if (as.length) m.acks = as;
      if (kind === 'snapshot') m.snap = { id, part, parts };
      out.push(m);
    }
    return out;
  }

  /** Whether a delta has anything to say (a heartbeat is sent anyway, to keep contact). */
  hasDelta(): boolean {
    return this.changed.size > 0 || this.toAck.size > 0 || this.hearsChanged;
  }

  /** Saves the members heard and their settled spend (called on the gossip's heartbeat and at stop). */
  persist(): void {
    if (!this.store) return;
    const members = [...this.peers.values()].filter((p) => p.lastHeard > 0).map((p) => ({ peer: p.id, lastSeen: p.lastHeard }));
    const spend: { peer: string; keyId: string; period: string; usd: number }[] = [];
    for (const p of this.peers.values()) for (const [keyId, pk] of p.keys) for (const [period, s] of pk.spend) if (s.spent > 0) spend.push({ peer: p.id, keyId, period, usd: s.spent });
    this.store.save(members, spend);
  }

  status(): SharedStatus {
    const now = this.now();
    const members = this.members(now).map((p): MemberStatus => {
      const silent = now - p.lastHeard > this.options.contactTimeoutMs;
      const state = silent ? 'silent' : !p.synced ? 'not synced' : !p.hears.has(this.me) ? 'does not hear us' : 'in contact';
      return { peer: p.id, inContact: state === 'in contact', state, lastHeardS: p.lastHeard ? Math.round((now - p.lastHeard) / 100) / 10 : null };
    }).sort((a, b) => a.peer.localeCompare(b.peer));
    const out = members.filter((m) => !m.inContact).length;
    return {
      epoch: this.epoch, unconfirmed: this.options.unconfirmed, members, shareOf: 1 / (members.length + 1),
      mode: members.length === 0 ? 'alone' : out === 0 ? 'mesh-wide' : 'partitioned',
    };
  }
}
