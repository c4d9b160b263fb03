// Whether a peer is reachable right now, answered within about a second: an open libp2p connection can be dead for
// as long as the connection monitor takes to notice (10 s and more), and a forward must not wait on it.
import type { PeerId } from '@libp2p/interface';

export interface LivenessInit {
  /** One round trip to the peer (a libp2p ping; it dials when there is no connection); rejects when it fails. */
  ping(peer: string, signal: AbortSignal): Promise<unknown>;
  /** Whether an open connection to the peer exists (a check that must dial gets longer). */
  connected(peer: string): boolean;
  now?: () => number;
  /** Timings; the defaults suit a LAN, tests shorten them. */
  freshMs?: number;
  /** Bound on a check over an open connection; one that has to dial first gets twice as long. */
  checkMs?: number;
  holdMs?: number;
}

/** Contact this recent needs no check (the heartbeat's exchange or any forward counts). */
const FRESH_MS = 3_000;
/** A check over an open connection: a LAN round trip is milliseconds, a Pi busy for a second still answers. */
const CHECK_MS = 1_500;
/** A peer that failed a check is skipped without waiting this long (re-checked in the background meanwhile). */
const HOLD_MS = 10_000;

interface Seen {
  contact: number;
  miss: number;
  check: Promise<boolean> | null;
}

export class PeerLiveness {
  readonly #init: LivenessInit;
  readonly #now: () => number;
  readonly #peers = new Map<string, Seen>();
  readonly #lifetime = new AbortController();
  readonly #fresh: number;
  readonly #checkMs: number;
  readonly #hold: number;
  /** The last time any peer failed to answer: contact older than that is doubted (this node may be cut off). */
  #lastMiss = -Infinity;

  constructor(init: LivenessInit) {
    this.#init = init;
    this.#now = init.now ?? Date.now;
    this.#fresh = init.freshMs ?? FRESH_MS;
    this.#checkMs = init.checkMs ?? CHECK_MS;
    this.#hold = init.holdMs ?? HOLD_MS;
  }

  #seen(peer: string): Seen {
    let s = this.#peers.get(peer);
    if (!s) {
      s = { contact: -Infinity, miss: -Infinity, check: null };
      this.#peers.set(peer, s);
    }
    return s;
  }

  /** The peer answered something just now (an exchange, a forward's stream, a ping). */
  contact(peer: string | PeerId): void {
    this.#seen(peer.toString()).contact = this.#now();
  }

  /**
   * The peer failed to answer in time. This node may be the one cut off, so contact with every other peer is doubted
   * too, and they are all checked at once: a request walking its peers then waits one bound, not one per peer.
   */
  miss(peer: string): void {
    const now = this.#now();
    this.#seen(peer).miss = now;
    this.#lastMiss = now;
    for (const [id, s] of this.#peers) if (id !== peer && !this.#held(s) && this.#init.connected(id)) void this.#check(id);
  }

  /** Whether the peer may be tried without a check: heard from recently, and since anyone last failed to answer. */
  #trusted(s: Seen): boolean {
    return s.contact > this.#now() - this.#fresh && s.contact >= this.#lastMiss;
  }

  /** Failed a check recently and not heard from since. */
  #held(s: Seen): boolean {
    return s.miss > s.contact && s.miss > this.#now() - this.#hold;
  }

  /** One check per peer at a time, shared by every request that asks meanwhile. */
  #check(peer: string): Promise<boolean> {
    const s = this.#seen(peer);
    s.check ??= (async () => {
      // Without a connection the check dials first (TCP, the private network's nonces, Noise, Yamux).
      const bound = this.#init.connected(peer) ? this.#checkMs : 2 * this.#checkMs;
      try {
        await this.#init.ping(peer, AbortSignal.any([this.#lifetime.signal, AbortSignal.timeout(bound)]));
        this.contact(peer);
        return true;
      } catch {
        if (!this.#lifetime.signal.aborted) this.miss(peer);
        return false;
      } finally {
        s.check = null;
      }
    })();
    return s.check;
  }

  /**
   * Whether the peer answers now: at once when it was heard from recently; false at once when it failed a check
   * lately (a background check may bring it back for the next request); otherwise after one bounded check.
   */
  async reachable(peer: string, signal?: AbortSignal): Promise<boolean> {
    const s = this.#seen(peer);
    if (this.#trusted(s)) return true;
    if (this.#held(s)) {
      void this.#check(peer);
      return false;
    }
    const check = this.#check(peer);
    if (!signal) return check;
    if (signal.aborted) return false;
    let onAbort = (): void => undefined;
    const aborted = new Promise<boolean>((resolve) => {
      onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([check, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The peers of `ids` that answer now, in the same order; the checks run in parallel, so this takes one bound at most. */
  async filter(ids: readonly string[], signal?: AbortSignal): Promise<string[]> {
    const ok = await Promise.all(ids.map((id) => this.reachable(id, signal)));
    return ids.filter((_, i) => ok[i]);
  }

  /**
   * Whether any of `ids` answers, for a decision that can do without (asking the DHT through them): while this node
   * doubts its own connectivity (a peer missed lately) only peers heard from since count, and checks still running are
   * not waited for; otherwise the peers are checked like `filter` does.
   */
  async anyAnswers(ids: readonly string[], signal?: AbortSignal): Promise<boolean> {
    if (this.#lastMiss <= this.#now() - this.#hold) return (await this.filter(ids, signal)).length > 0;
    for (const id of ids) {
      const s = this.#seen(id);
      if (this.#trusted(s)) return true;
      if (!this.#held(s)) void this.#check(id);
    }
    return false;
  }

  stop(): void {
    this.#lifetime.abort();
    this.#peers.clear();
  }
}
