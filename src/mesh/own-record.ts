// This node's own capacity record: re-signed when the integrator's capacity changes or the record nears expiry.
import type { PrivateKey } from '@libp2p/interface';
import { signCapacityRecord } from './capacity-record.ts';
import type { CapacityRecord } from './capacity-record.ts';
import type { CapacityInfo } from './types.ts';

export class OwnRecord {
  private readonly key: PrivateKey;
  private readonly peerId: string;
  private readonly nodeName: string | null;
  private readonly ttlMs: number;
  private readonly capacity: () => CapacityInfo;
  private current: CapacityRecord | null = null;
  private currentJson = '';

  constructor(init: { key: PrivateKey; peerId: string; nodeName: string | null; ttlMs: number; capacity: () => CapacityInfo }) {
    this.key = init.key;
    this.peerId = init.peerId;
    this.nodeName = init.nodeName;
    this.ttlMs = init.ttlMs;
    this.capacity = init.capacity;
  }

  /** The record to send now; `changed` is true when the advertised capacity differs from the last record. */
  async refresh(now = Date.now()): Promise<{ record: CapacityRecord; changed: boolean }> {
    const capacity = this.capacity();
    const json = JSON.stringify(capacity);
    const changed = json !== this.currentJson;
    if (this.current && !changed && this.current.expiresAt - now > this.ttlMs / 2) return { record: this.current, changed: false };
    // Time-based sequence numbers keep growing across restarts without storing a counter.
    const seq = Math.max((this.current?.seq ?? 0) + 1, now);
    this.current = await signCapacityRecord(this.key, {
      peerId: this.peerId,
      nodeName: this.nodeName,
      seq,
      issuedAt: now,
      expiresAt: now + this.ttlMs,
      capacity,
    });
    this.currentJson = json;
    return { record: this.current, changed };
  }

  async record(): Promise<CapacityRecord> {
    return (await this.refresh()).record;
  }
}
