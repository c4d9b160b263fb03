// What this node knows about each mesh peer (capacity, RTT, last contact), and their ranking for a model.
import type { CapacityRecord } from './capacity-record.ts';
import type { PeerHealth, PeerRow } from './types.ts';

/** Failed probes in a row after which a peer counts as unreachable even with a live record. */
const PROBE_FAILURES_UNREACHABLE = 2;

interface PeerEntry {
  peerId: string;
  addresses: string[];
  connected: boolean;
  record: CapacityRecord | null;
  rttMs: number | null;
  lastSeen: number | null;
  probeFailures: number;
}

export class PeerTable {
  private readonly entries = new Map<string, PeerEntry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private entry(peerId: string): PeerEntry {
    let e = this.entries.get(peerId);
    if (!e) {
      e = { peerId, addresses: [], connected: false, record: null, rttMs: null, lastSeen: null, probeFailures: 0 };
      this.entries.set(peerId, e);
    }
    return e;
  }

  /** Keeps the newer of the stored and the given (already verified) record. */
  updateRecord(record: CapacityRecord): void {
    const e = this.entry(record.peerId);
    if (!e.record || record.seq >= e.record.seq) e.record = record;
    e.lastSeen = this.now();
  }

  setAddresses(peerId: string, addresses: string[]): void {
    if (addresses.length > 0) this.entry(peerId).addresses = addresses;
  }

  setConnection(peerId: string, connected: boolean, addresses?: string[]): void {
    const e = this.entry(peerId);
    e.connected = connected;
    if (addresses && addresses.length > 0) e.addresses = addresses;
    if (connected) e.lastSeen = this.now();
  }

  /** The outcome of a liveness probe: its round-trip time, or null when the peer did not answer. */
  recordProbe(peerId: string, rttMs: number | null): void {
    const e = this.entry(peerId);
    if (rttMs === null) {
      e.probeFailures++;
      return;
    }
    e.rttMs = rttMs;
    e.probeFailures = 0;
    e.lastSeen = this.now();
  }

  record(peerId: string): CapacityRecord | null {
    return this.entries.get(peerId)?.record ?? null;
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  private health(e: PeerEntry): PeerHealth {
    const now = this.now();
    if (e.probeFailures >= PROBE_FAILURES_UNREACHABLE) return 'unreachable';
    if (!e.record || e.record.expiresAt <= now) return 'stale';
    return 'healthy';
  }

  rows(): PeerRow[] {
    return [...this.entries.values()].map((e) => ({
      peerId: e.peerId,
      nodeName: e.record?.nodeName ?? null,
      addresses: e.addresses,
      connected: e.connected,
      capacity: e.record?.capacity ?? null,
      capacityExpiresAt: e.record?.expiresAt ?? null,
      rttMs: e.rttMs,
      lastSeen: e.lastSeen,
      health: this.health(e),
    }));
  }

  /**
   * Healthy peers advertising `model`, best first: free concurrency, then error rate, then RTT.
   * Peers in `extra` (found through the DHT, whose provider records stay for hours) follow, unless they stopped
   * answering probes or their own live record says they do not serve the model now.
   */
  rankFor(model: string, exclude: ReadonlySet<string>, extra: Iterable<string> = []): string[] {
    const scored: { peerId: string; score: number }[] = [];
    for (const e of this.entries.values()) {
      if (exclude.has(e.peerId) || this.health(e) !== 'healthy' || !e.record?.capacity.models.includes(model)) continue;
      const c = e.record.capacity;
      const busy = c.freeConcurrency <= 0 ? 10_000 : 0;
      scored.push({ peerId: e.peerId, score: busy + c.errorRate * 1_000 + (e.rttMs ?? 50) + (c.latencyP50Ms ?? 0) / 100 - Math.min(c.freeConcurrency, 16) });
    }
    scored.sort((a, b) => a.score - b.score);
    const ranked = scored.map((s) => s.peerId);
    const seen = new Set(ranked);
    for (const id of extra) {
      if (seen.has(id) || exclude.has(id)) continue;
      const e = this.entries.get(id);
      if (e && this.health(e) === 'unreachable') continue;
      if (e && this.health(e) === 'healthy' && !e.record!.capacity.models.includes(model)) continue;
      seen.add(id);
      ranked.push(id);
    }
    return ranked;
  }

  counts(): { known: number; connected: number; healthy: number } {
    let connected = 0;
    let healthy = 0;
    for (const e of this.entries.values()) {
      if (e.connected) connected++;
      if (this.health(e) === 'healthy') healthy++;
    }
    return { known: this.entries.size, connected, healthy };
  }
}
