// What replication knows and has done: each peer's last known version vector, when it last synced, and counters.
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
  /** The peer's version vector as last learnt (from a sync in either direction). */
  versions: VersionVector;
  /** Ops the peer had, at that time, that this node lacks now. */
  opsBehind: number;
  /** Ops this node has that the peer lacked then. */
  peerOpsBehind: number;
  lastSyncAt: number | null;
  secondsSinceSync: number | null;
}

export interface ReplicationStatus {
  origin: string;
  /** This node's version vector: per origin, the highest sequence number held without a gap. */
  versions: VersionVector;
  peers: PeerReplication[];
  counts: ReplicationCounts;
  cacheReplication: boolean;
}

interface PeerState { versions: VersionVector; learntAt: number; lastSyncAt: number | null }

/** Ops `a` has that `b` lacks. */
export function opsAhead(a: VersionVector, b: VersionVector): number {
  let n = 0;
  for (const [origin, seq] of Object.entries(a)) n += Math.max(0, seq - (b[origin] ?? 0));
  return n;
}

export class ReplicationState {
  readonly counts: ReplicationCounts = {
    opsSent: 0, opsReceived: 0, opsApplied: 0, opsRejected: 0, syncs: 0, syncFailures: 0, cacheSent: 0, cacheReceived: 0, cacheRejected: 0,
  };
  #peers = new Map<string, PeerState>();
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records a peer's vector; a completed sync also stamps the time of its last sync. */
  learnVector(peerId: string, versions: VersionVector, synced: boolean): void {
    const prev = this.#peers.get(peerId);
    const now = this.#now();
    this.#peers.set(peerId, { versions, learntAt: now, lastSyncAt: synced ? now : prev?.lastSyncAt ?? null });
  }

  /** Vectors of the peers heard from within `withinMs`: a peer gone longer must not hold back compaction forever. */
  recentVectors(withinMs: number): VersionVector[] {
    const since = this.#now() - withinMs;
    return [...this.#peers.values()].filter((p) => p.learntAt >= since).map((p) => p.versions);
  }

  peers(local: VersionVector): PeerReplication[] {
    const now = this.#now();
    return [...this.#peers.entries()].map(([peerId, p]) => ({
      peerId,
      versions: p.versions,
      opsBehind: opsAhead(p.versions, local),
      peerOpsBehind: opsAhead(local, p.versions),
      lastSyncAt: p.lastSyncAt,
      secondsSinceSync: p.lastSyncAt === null ? null : Math.round((now - p.lastSyncAt) / 100) / 10,
    })).sort((a, b) => a.peerId.localeCompare(b.peerId));
  }
}
