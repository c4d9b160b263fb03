// What replication knows and has done: each peer's last known version vector, its sync health, and counters.
import type { VersionVector } from '../../knowledge/index.ts';

export interface ReplicationCounts {
  /** Ops this node sent: published on gossip plus streamed to syncing peers. */
  opsSent: number;
  /** Ops received from peers (gossip and sync) that carried a valid proof. */
  opsReceived: number;
  /** Received ops that changed a document (the rest were duplicates or lost last-writer-wins). */
  opsApplied: number;
  /** Ops refused: malformed, a bad or missing origin signature, or a clock too far ahead. */
  opsRejected: number;
  syncs: number;
  syncFailures: number;
  cacheSent: number;
  cacheReceived: number;
  cacheRejected: number;
}

export interface PeerReplication {
  peerId: string;
  /** The peer's version vector as last learnt (from a sync in either direction); empty until one is. */
  versions: VersionVector;
  /** Ops the peer had, at that time, that this node lacks now. */
  opsBehind: number;
  /** Ops this node has that the peer lacked then. */
  peerOpsBehind: number;
  lastSyncAt: number | null;
  secondsSinceSync: number | null;
  /** Syncs with this peer that failed in a row (0 once one succeeds). */
  failures: number;
  /** Why the last one failed, while failing. */
  lastError: string | null;
  /** Seconds until the next attempt while backing off, else null. */
  retryInSeconds: number | null;
}

export interface ReplicationStatus {
  origin: string;
  /** This node's version vector: per origin, the highest sequence number held without a gap. */
  versions: VersionVector;
  peers: PeerReplication[];
  counts: ReplicationCounts;
  cacheReplication: boolean;
}

interface PeerState {
  versions: VersionVector | null;
  learntAt: number;
  lastSyncAt: number | null;
  failures: number;
  lastError: string | null;
  retryAt: number | null;
}

/** Ops `a` has that `b` lacks. */
export function opsAhead(a: VersionVector, b: VersionVector): number {
  let n = 0;
  for (const [origin, seq] of Object.entries(a)) n += Math.max(0, seq - (b[origin] ?? 0));
  return n;
}

export class ReplicationState {
  readonly counts: ReplicationCounts = {
    opsSent: 0,
    opsReceived: 0,
    opsApplied: 0,
    opsRejected: 0,
    syncs: 0,
    syncFailures: 0,
    cacheSent: 0,
    cacheReceived: 0,
    cacheRejected: 0,
  };
  #peers = new Map<string, PeerState>();
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #peer(peerId: string): PeerState {
    let p = this.#peers.get(peerId);
    if (!p) {
      p = { versions: null, learntAt: 0, lastSyncAt: null, failures: 0, lastError: null, retryAt: null };
      this.#peers.set(peerId, p);
    }
    return p;
  }

  /** Records a peer's vector; a completed sync also stamps the time of its last sync and ends any backoff. */
  learnVector(peerId: string, versions: VersionVector, synced: boolean): void {
    const p = this.#peer(peerId);
    p.versions = versions;
    p.learntAt = this.#now();
    if (synced) Object.assign(p, { lastSyncAt: p.learntAt, failures: 0, lastError: null, retryAt: null });
  }

  /** Records a failed sync; `delayFor(failures in a row)` picks how long the next attempt waits. */
  syncFailed(peerId: string, error: string, delayFor: (failures: number) => number): { failures: number; delayMs: number } {
    const p = this.#peer(peerId);
    const failures = p.failures + 1;
    const delayMs = delayFor(failures);
    Object.assign(p, { failures, lastError: error, retryAt: this.#now() + delayMs });
    return { failures, delayMs };
  }

  /** Ends a peer's pause (it has just connected again: a new connection deserves a sync at once). */
  resumeSyncs(peerId: string): void {
    const p = this.#peers.get(peerId);
    if (p) p.retryAt = null;
  }

  /** Whether syncs with the peer are paused after failures. */
  backingOff(peerId: string): boolean {
    const at = this.#peers.get(peerId)?.retryAt;
    return at != null && at > this.#now();
  }

  /** Vectors of the peers heard from within `withinMs`: a peer gone longer must not hold back compaction forever. */
  recentVectors(withinMs: number): VersionVector[] {
    const since = this.#now() - withinMs;
    return [...this.#peers.values()].filter((p) => p.versions !== null && p.learntAt >= since).map((p) => p.versions as VersionVector);
  }

  peers(local: VersionVector): PeerReplication[] {
    const now = this.#now();
    return [...this.#peers.entries()]
      .map(([peerId, p]) => ({
        peerId,
        versions: p.versions ?? {},
        opsBehind: p.versions ? opsAhead(p.versions, local) : 0,
        peerOpsBehind: p.versions ? opsAhead(local, p.versions) : 0,
        lastSyncAt: p.lastSyncAt,
        secondsSinceSync: p.lastSyncAt === null ? null : Math.round((now - p.lastSyncAt) / 100) / 10,
        failures: p.failures,
        lastError: p.lastError,
        retryInSeconds: p.retryAt !== null && p.retryAt > now ? Math.ceil((p.retryAt - now) / 1000) : null,
      }))
      .sort((a, b) => a.peerId.localeCompare(b.peerId));
  }
}
