// What this node holds of the other members' counters: each member's own counts per key (merged by taking the maximum
// of every grow-only field), its acknowledgements of this node's events, and whether the two are in contact.
import type { Cell, Events } from './own.ts';
import type { LimitsMessage, WireKey } from './wire.ts';

/**
 * What one member may make this node hold, however it writes its messages (any member may send anything): keys this
 * node does not hold (a key made a moment ago elsewhere may be counted before its op arrives), seconds of counts, and
 * runs whose last minute still counts. Keys this node holds are bounded by its key store, acknowledgements by the keys
 * it counts itself. A member running normally stays far below them (a second per key and active key in the last
 * minute; a restart or two); beyond them new entries are ignored.
 */
export const MEMBER_BOUNDS = { unknownKeys: 1_000, cells: 200_000, runsPerKey: 4 };
/** A second a member reports may be this far ahead of this node's clock (skew) and still be counted. */
const AHEAD_S = 5;
const WINDOW_S = 60;

export interface PeerSpend {
  spent: number;
  hi: number;
  ho: number;
  epoch: number;
}

export interface PeerKey {
  /** The member's event numbers for the key (its current run): what this node acknowledges back. */
  events: Events;
  /** Requests and tokens per second, per run of the member (a restarted member counts anew; its last minute still counts). */
  cells: Map<number, Map<number, Cell>>;
  spend: Map<string, PeerSpend>;
  /** Whether this node held the key when the member first counted it (see MEMBER_BOUNDS). */
  held: boolean;
}

export interface Peer {
  id: string;
  epoch: number;
  lastHeard: number;
  /** Whether this node holds the member's whole state: a full snapshot since its run began or it was last silent. */
  synced: boolean;
  snapshot: { id: number; got: Set<number> } | null;
  /** Whom the member said it hears, in its latest message. */
  hears: Set<string>;
  keys: Map<string, PeerKey>;
  /** Its acknowledgements of this node's own events, per key. */
  acks: Map<string, Events>;
  /** Seconds of counts held for it, over every key and run, and its keys this node did not hold (see MEMBER_BOUNDS). */
  cellCount: number;
  unknownKeys: number;
}

/** Which key ids are real: the keys this node holds, and those it counts itself (acknowledgements refer to them). */
export interface KeyIds {
  held(keyId: string): boolean;
  counted(keyId: string): boolean;
}

export class Peers {
  readonly all = new Map<string, Peer>();
  readonly #ids: KeyIds;

  constructor(ids: KeyIds = { held: () => true, counted: () => true }) {
    this.#ids = ids;
  }

  get(id: string): Peer {
    let p = this.all.get(id);
    if (!p)
      this.all.set(
        id,
        (p = { id, epoch: 0, lastHeard: 0, synced: false, snapshot: null, hears: new Set(), keys: new Map(), acks: new Map(), cellCount: 0, unknownKeys: 0 }),
      );
    return p;
  }

  /** The member's state for a key; null for a key this node does not hold once the member has MEMBER_BOUNDS.unknownKeys. */
  key(p: Peer, keyId: string): PeerKey | null {
    const known = p.keys.get(keyId);
    if (known) return known;
    const held = this.#ids.held(keyId);
    if (!held && p.unknownKeys >= MEMBER_BOUNDS.unknownKeys) return null;
    const k: PeerKey = { events: { a: 0, h: 0 }, cells: new Map(), spend: new Map(), held };
    p.keys.set(keyId, k);
    if (!held) p.unknownKeys++;
    return k;
  }

  /**
   * Merges a member's message. `fresh`: it is a new run of the member or it is back after a silence longer than
   * `contactTimeoutMs` (it missed this node's messages: send a snapshot). `acked`: it acknowledged more of this node's
   * events (`self`, run `epoch`). `synced`: the message completed a snapshot. `received`: keys to acknowledge: those
   * whose events advanced, and every key of a heartbeat, snapshot or question (a lost acknowledgement is given again).
   */
  merge(
    origin: string,
    msg: LimitsMessage,
    now: number,
    self: { id: string; epoch: number },
    contactTimeoutMs: number,
  ): { fresh: boolean; acked: boolean; synced: boolean; received: string[] } {
    const p = this.get(origin);
    const out = { fresh: false, acked: false, synced: false, received: [] as string[] };
    if (msg.e < p.epoch) return out;
    if (msg.e > p.epoch) {
      // A new run: it knows nothing of us yet, and its acknowledgements start again.
      p.epoch = msg.e;
      p.synced = false;
      p.snapshot = null;
      p.acks.clear();
      for (const k of p.keys.values()) k.events = { a: 0, h: 0 };
      out.fresh = true;
    } else if (now - p.lastHeard > contactTimeoutMs) {
      // Back after a silence: what it did meanwhile is unknown until its next snapshot, and it missed ours.
      p.synced = false;
      p.snapshot = null;
      out.fresh = true;
    }
    p.lastHeard = now;
    p.hears = new Set(msg.hears);
    const nowSec = Math.floor(now / 1000);
    for (const k of msg.keys ?? []) {
      const pk = this.key(p, k.k);
      if (pk && (this.mergeKey(p, pk, k, msg.e, nowSec) || msg.hb || msg.snap || msg.ask)) out.received.push(k.k);
    }
    for (const [o, e, key, a, h] of msg.acks ?? []) {
      if (o !== self.id || e !== self.epoch || !this.#ids.counted(key)) continue;
      const prev = p.acks.get(key) ?? { a: 0, h: 0 };
      if (a > prev.a || h > prev.h) {
        p.acks.set(key, { a: Math.max(a, prev.a), h: Math.max(h, prev.h) });
        out.acked = true;
      }
    }
    if (msg.snap) {
      if (p.snapshot?.id !== msg.snap.id) p.snapshot = { id: msg.snap.id, got: new Set() };
      p.snapshot.got.add(msg.snap.part);
      if (p.snapshot.got.size === msg.snap.parts) {
        p.synced = true;
        p.snapshot = null;
        out.synced = true;
      }
    }
    return out;
  }

  /** Merges one key's state; true when it brought events not seen before. */
  private mergeKey(p: Peer, pk: PeerKey, k: WireKey, epoch: number, nowSec: number): boolean {
    const advanced = k.a > pk.events.a || k.h > pk.events.h;
    pk.events = { a: Math.max(pk.events.a, k.a), h: Math.max(pk.events.h, k.h) };
    const cells = k.r && this.runCells(p, pk, epoch);
    if (k.r && cells) {
      for (const [sec, r, ti, to] of k.r) {
        // Only seconds of the current minute count; later ones would never leave it.
        if (sec <= nowSec - WINDOW_S || sec > nowSec + AHEAD_S) continue;
        const c = cells.get(sec);
        if (!c) {
          if (p.cellCount >= MEMBER_BOUNDS.cells) continue;
          cells.set(sec, { r, ti, to });
          p.cellCount++;
        } else {
          c.r = Math.max(c.r, r);
          c.ti = Math.max(c.ti, ti);
          c.to = Math.max(c.to, to);
        }
      }
    }
    for (const [pid, spent, hi, ho] of k.s ?? []) {
      const s = pk.spend.get(pid);
      if (!s) pk.spend.set(pid, { spent, hi, ho, epoch });
      // Settled spend persists across the member's runs; what it held in flight died with an earlier run.
      else if (epoch > s.epoch) Object.assign(s, { spent: Math.max(s.spent, spent), hi, ho, epoch });
      else Object.assign(s, { spent: Math.max(s.spent, spent), hi: Math.max(s.hi, hi), ho: Math.max(s.ho, ho) });
    }
    return advanced;
  }

  /**
   * The seconds of a run of the member for a key. A run older than the newest MEMBER_BOUNDS.runsPerKey is dropped (a
   * member restarting more often than that within a minute under-counts its earlier runs); null for such an old run.
   */
  private runCells(p: Peer, pk: PeerKey, epoch: number): Map<number, Cell> | null {
    let cells = pk.cells.get(epoch);
    if (cells) return cells;
    if (pk.cells.size >= MEMBER_BOUNDS.runsPerKey) {
      const oldest = Math.min(...pk.cells.keys());
      if (epoch < oldest) return null;
      p.cellCount -= pk.cells.get(oldest)!.size;
      pk.cells.delete(oldest);
    }
    pk.cells.set(epoch, (cells = new Map()));
    return cells;
  }

  /** Drops members gone past the horizon, seconds past the window and spend of past periods. */
  prune(now: number, horizonMs: number, windowStartSec: number, currentPeriods: Set<string>): void {
    for (const p of this.all.values()) {
      if (p.lastHeard > 0 && now - p.lastHeard > horizonMs) {
        this.all.delete(p.id);
        continue;
      }
      for (const [keyId, pk] of p.keys) {
        for (const [epoch, cells] of pk.cells) {
          for (const sec of cells.keys()) {
            if (sec > windowStartSec) continue;
            cells.delete(sec);
            p.cellCount--;
          }
          if (cells.size === 0) pk.cells.delete(epoch);
        }
        for (const pid of pk.spend.keys()) if (!currentPeriods.has(pid)) pk.spend.delete(pid);
        // A key with nothing left to count is forgotten; its event numbers come again with its next message.
        if (pk.cells.size > 0 || pk.spend.size > 0) continue;
        p.keys.delete(keyId);
        if (!pk.held) p.unknownKeys--;
      }
    }
  }
}

/** Who counts and who is in contact, from this node's side (`me` once its peer id is known). */
export class Contact {
  private readonly peers: Peers;
  private readonly options: { contactTimeoutMs: number; memberHorizonMs: number };
  private readonly me: () => string;

  constructor(peers: Peers, options: { contactTimeoutMs: number; memberHorizonMs: number }, me: () => string) {
    this.peers = peers;
    this.options = options;
    this.me = me;
  }

  /** Members heard within the horizon (remembered ones included): the shares are taken among them and this node. */
  members(now: number): Peer[] {
    return [...this.peers.all.values()].filter((p) => p.lastHeard > 0 && now - p.lastHeard <= this.options.memberHorizonMs);
  }

  /** This node hears the member: it holds its whole state and heard from it recently. */
  hears(p: Peer, now: number): boolean {
    return p.synced && now - p.lastHeard <= this.options.contactTimeoutMs;
  }

  /** In contact: each side holds the other's whole state and has heard from it recently. */
  inContact(p: Peer, now: number): boolean {
    return this.hears(p, now) && p.hears.has(this.me());
  }
}
