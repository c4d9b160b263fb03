// Per-key counters shared by the members of a mesh. Each member counts only its own requests, tokens and spend (grow-only
// within its run, so any copy merges by taking the maximum per field) and gossips them; every member adds up what it has
// heard. Two rules give the overspend bound (SECURITY.md): what a member admitted that a member in contact has not
// acknowledged stays within its slice of the overshoot (one request at least), and a member out of contact is assumed
// to use at least its share of every limit (limit / members).
import type { BudgetPeriod } from '../keys.ts';
import { periodOf } from '../limits.ts';
import { OwnCounts, WINDOW_S, type Amounts, type Events, type OwnSpend } from './own.ts';
import { Contact, Peers, type Peer } from './peers.ts';
import { countedView, othersSpendView, rateView, type OthersSpend, type RateView } from './views.ts';
import { ACKS_PER_MESSAGE, KEYS_PER_MESSAGE, type LimitsMessage, type WireAck } from './wire.ts';

export interface SharedLimitsOptions {
  /** The share of a limit a key may pass it by, mesh-wide (spread over the other members); at least one request each. */
  overshoot: number;
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

const EPSILON = 1e-9;

export interface MemberStatus {
  peer: string;
  inContact: boolean;
  state: 'in contact' | 'silent' | 'not synced' | 'does not hear us';
  lastHeardS: number | null;
}

export interface SharedStatus {
  epoch: number;
  overshoot: number;
  members: MemberStatus[];
  /** Each limit's share a member out of contact is assumed to use: 1 / (members + 1). */
  shareOf: number;
  mode: 'alone' | 'mesh-wide' | 'partitioned';
}

export type { RateView, OthersSpend };

export class SharedCounters {
  readonly epoch: number;
  readonly options: SharedLimitsOptions;
  private me = '';
  private readonly now: () => number;
  private readonly own: OwnCounts;
  private readonly peers: Peers;
  private readonly contact: Contact;
  private readonly store?: SharedStore;
  /** Own keys changed since the last message, and peers' keys to acknowledge. */
  private readonly changed = new Set<string>();
  private readonly toAck = new Set<string>();
  /** Whom this node hears changed (a member became synced): said at once, it completes that member's contact. */
  private hearsChanged = false;
  /** An admission here waits for acknowledgements: the next message asks for them (`ask`), with what waits. */
  private asking = false;
  /** A member asked: acknowledge at once rather than with the next message this node sends anyway. */
  private ackNow = false;
  private snapshotId = 0;
  private readonly changeListeners = new Set<() => void>();
  private readonly ackListeners = new Set<() => void>();

  /** `holds`: whether this node's key store has the key (members' counts of other ids are bounded; see MEMBER_BOUNDS). */
  constructor(options: SharedLimitsOptions, deps: OwnSpend & { store?: SharedStore; now?: () => number; holds?: (keyId: string) => boolean }) {
    this.options = options;
    this.now = deps.now ?? Date.now;
    this.own = new OwnCounts(this.now, deps);
    const own = this.own;
    this.peers = new Peers({ held: deps.holds ?? (() => true), counted: (keyId) => own.has(keyId) });
    this.contact = new Contact(this.peers, options, () => this.me);
    this.store = deps.store;
    this.epoch = this.now() * 1000 + Math.floor(Math.random() * 1000);
    for (const m of deps.store?.members() ?? []) this.peers.get(m.peer).lastHeard = m.lastSeen;
    for (const s of deps.store?.spend() ?? []) this.peers.key(this.peers.get(s.peer), s.keyId)?.spend.set(s.period, { spent: s.usd, hi: 0, ho: 0, epoch: 0 });
  }

  /** This node's peer id, once known: it is what members list when they hear it. */
  setSelf(peerId: string): void {
    this.me = peerId;
    this.peers.all.delete(peerId);
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => {
      this.changeListeners.delete(listener);
    };
  }

  /** Told when a member acknowledges more of this node's events or completes a snapshot (waiting admissions look again). */
  onAck(listener: () => void): () => void {
    this.ackListeners.add(listener);
    return () => {
      this.ackListeners.delete(listener);
    };
  }

  private touched(keyId: string): void {
    this.changed.add(keyId);
    for (const l of this.changeListeners) l();
  }

  // ---- this node's own counts ----

  admitted(keyId: string, tokens: number): { settleTokens(actual: number): void } {
    const t = this.own.admit(keyId, tokens);
    this.touched(keyId);
    return {
      settleTokens: (actual) => {
        t.settleTokens(actual);
        this.touched(keyId);
      },
    };
  }

  holding(keyId: string, period: BudgetPeriod, usd: number): { release(): void } {
    const h = this.own.hold(keyId, period, usd);
    this.touched(keyId);
    return {
      release: () => {
        h.release();
        this.touched(keyId);
      },
    };
  }

  /** The lowest acknowledgement of a key's events among the members in contact (all of them, with none in contact). */
  private acked(keyId: string, now: number): Events {
    const own = this.own.events(keyId);
    const low = { ...own };
    for (const p of this.peers.all.values()) {
      if (!this.contact.inContact(p, now)) continue;
      const a = p.acks.get(keyId) ?? { a: 0, h: 0 };
      low.a = Math.min(low.a, a.a);
      low.h = Math.min(low.h, a.h);
    }
    return low;
  }

  /** What this node admitted and held for a key that some member in contact has not acknowledged yet. */
  unconfirmed(keyId: string): Amounts {
    return this.own.unconfirmed(keyId, this.acked(keyId, this.now()));
  }

  /**
   * Whether `more` may go out unacknowledged: within this node's slice of the overshoot (the limit × overshoot, over
   * the other members), or alone when nothing is waiting (a single request is never held back by the slice).
   */
  mayAdd(keyId: string, more: Partial<Amounts>, limits: { rpm?: number; tpm?: number; budgetUsd?: number }): boolean {
    const u = this.unconfirmed(keyId);
    const others = Math.max(1, this.contact.members(this.now()).length);
    const fits = (now: number, add: number, limit: number | undefined) =>
      limit === undefined || now === 0 || now + add <= (this.options.overshoot * limit) / others + EPSILON;
    return (
      (more.requests === undefined || fits(u.requests, more.requests, limits.rpm))
      && (more.tokens === undefined || fits(u.tokens, more.tokens, limits.tpm))
      && (more.usd === undefined || fits(u.usd, more.usd, limits.budgetUsd))
    );
  }

  /** How far a key's heard totals may pass a limit while members are in contact: the overshoot, one unit per member at least. */
  slack(limit: number, unit = 1): number {
    return Math.max(this.contact.members(this.now()).length * unit, this.options.overshoot * limit);
  }

  // ---- merged views (views.ts) ----

  rate(keyId: string, limits: { rpm?: number; tpm?: number }): RateView {
    return rateView(this.own.cells(keyId), this.contact.members(this.now()), keyId, limits, this.now(), (p) => this.contact.inContact(p, this.now()));
  }

  othersSpend(keyId: string, period: BudgetPeriod, limitUsd: number): OthersSpend {
    return othersSpendView(this.contact.members(this.now()), keyId, period, limitUsd, this.now(), (p) => this.contact.inContact(p, this.now()));
  }

  /** Requests of a key a member counted in the last minute as heard here, when it is in contact; else null. */
  countedBy(peerId: string, keyId: string): number | null {
    const p = this.peers.all.get(peerId);
    return p && this.contact.inContact(p, this.now()) ? countedView(p, keyId, this.now()) : null;
  }

  // ---- exchange ----

  /** Merges a member's message; says whether this node should send its own snapshot (the member is new, restarted or back). */
  receive(origin: string, msg: LimitsMessage): { snapshot: boolean } {
    if (!this.me || origin === this.me) return { snapshot: false };
    const r = this.peers.merge(origin, msg, this.now(), { id: this.me, epoch: this.epoch }, this.options.contactTimeoutMs);
    for (const key of r.received) this.toAck.add(`${origin}\n${key}`);
    if (msg.ask && r.received.length) this.ackNow = true;
    if (r.synced) this.hearsChanged = true;
    if (r.acked || r.synced) for (const l of this.ackListeners) l();
    return { snapshot: r.fresh };
  }

  /** An admission here has to wait: ask the members in contact to acknowledge what this node admitted, now. */
  ask(): void {
    if (this.asking) return;
    this.asking = true;
    for (const l of this.changeListeners) l();
  }

  /** Whether the next message should go out at once (a question, or an answer to one) rather than with the next batch. */
  urgent(): boolean {
    return this.asking || (this.ackNow && this.toAck.size > 0);
  }

  /** Drops what has left the window, past periods, members gone and events every member acknowledged. */
  prune(): void {
    const now = this.now();
    this.own.prune();
    this.peers.prune(now, this.options.memberHorizonMs, Math.floor(now / 1000) - WINDOW_S, new Set([periodOf('day', now).id, periodOf('month', now).id]));
    for (const keyId of this.own.keyIds()) {
      // Acknowledged by every member heard of (in contact or not): one back from a silence is re-synced anyway.
      const low = { ...this.own.events(keyId) };
      for (const p of this.contact.members(now)) {
        const a = p.acks.get(keyId) ?? { a: 0, h: 0 };
        low.a = Math.min(low.a, a.a);
        low.h = Math.min(low.h, a.h);
      }
      this.own.confirm(keyId, low);
    }
  }

  /** Whom this node hears: the `hears` of its messages. */
  private hearing(now: number): string[] {
    return [...this.peers.all.values()].filter((p) => this.contact.hears(p, now)).map((p) => p.id);
  }

  /**
   * The messages to publish now. A delta carries the keys changed since the last one and acknowledgements of what was
   * received (acknowledgements wait for the next message this node sends anyway, unless a member asked); a heartbeat,
   * and a delta while an admission here waits (`ask`), also every key with events a member in contact has not
   * acknowledged, so a lost message cannot stall an admission; a snapshot carries everything, in parts.
   */
  outgoing(kind: 'delta' | 'heartbeat' | 'snapshot'): LimitsMessage[] {
    const now = this.now();
    const hears = this.hearing(now);
    const acks: WireAck[] = [];
    const ack = (p: Peer, key: string) => {
      const pk = p.keys.get(key);
      if (pk) acks.push([p.id, p.epoch, key, pk.events.a, pk.events.h]);
    };
    let keyIds: string[];
    let spent = new Map<string, BudgetPeriod>();
    if (kind === 'snapshot') {
      spent = this.own.spentKeys();
      keyIds = [...new Set([...this.own.keyIds(), ...spent.keys()])];
      for (const p of this.peers.all.values()) for (const key of p.keys.keys()) ack(p, key);
    } else {
      const waiting =
        kind === 'heartbeat' || this.asking
          ? this.own.keyIds().filter((k) => {
              const u = this.unconfirmed(k);
              return u.requests > 0 || u.usd > 0;
            })
          : [];
      keyIds = [...new Set([...this.changed, ...waiting])];
      for (const item of this.toAck) {
        const [peerId, key] = item.split('\n');
        const p = this.peers.all.get(peerId);
        if (p) ack(p, key);
      }
    }
    const asking = this.asking && kind !== 'snapshot';
    this.changed.clear();
    this.toAck.clear();
    this.hearsChanged = false;
    this.ackNow = false;
    if (kind !== 'snapshot') this.asking = false;
    const keys = keyIds.map((k) => this.own.wire(k, spent.get(k)));
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
      if (kind === 'heartbeat') m.hb = true;
      if (asking && ks.length) m.ask = true;
      out.push(m);
    }
    return out;
  }

  /** Whether a delta has anything to say (a heartbeat is sent anyway, to keep contact). */
  hasDelta(): boolean {
    return this.changed.size > 0 || this.hearsChanged || this.urgent();
  }

  /** Saves the members heard and their settled spend (called on the gossip's heartbeat and at stop). */
  persist(): void {
    if (!this.store) return;
    const members = [...this.peers.all.values()].filter((p) => p.lastHeard > 0).map((p) => ({ peer: p.id, lastSeen: p.lastHeard }));
    const spend: { peer: string; keyId: string; period: string; usd: number }[] = [];
    for (const p of this.peers.all.values())
      for (const [keyId, pk] of p.keys) for (const [period, s] of pk.spend) if (s.spent > 0) spend.push({ peer: p.id, keyId, period, usd: s.spent });
    this.store.save(members, spend);
  }

  status(): SharedStatus {
    const now = this.now();
    const members = this.contact
      .members(now)
      .map((p): MemberStatus => {
        const silent = now - p.lastHeard > this.options.contactTimeoutMs;
        const state = silent ? 'silent' : !p.synced ? 'not synced' : !p.hears.has(this.me) ? 'does not hear us' : 'in contact';
        return { peer: p.id, inContact: state === 'in contact', state, lastHeardS: p.lastHeard ? Math.round((now - p.lastHeard) / 100) / 10 : null };
      })
      .sort((a, b) => a.peer.localeCompare(b.peer));
    const out = members.filter((m) => !m.inContact).length;
    return {
      epoch: this.epoch,
      overshoot: this.options.overshoot,
      members,
      shareOf: 1 / (members.length + 1),
      mode: members.length === 0 ? 'alone' : out === 0 ? 'mesh-wide' : 'partitioned',
    };
  }
}
