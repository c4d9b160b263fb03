// The DHT as a directory: provide model/chain CIDs, put and get capacity records, find providers; every call time-bounded.
import type { KadDHT } from '@libp2p/kad-dht';
import type { CID } from 'multiformats/cid';
import { capacityKey, chainCid, encodeCapacityRecord, modelCid, verifyCapacityRecord } from './capacity-record.ts';
import type { CapacityRecord } from './capacity-record.ts';

/** Drains a DHT query, stopping quietly at the timeout: an isolated node must not hang its caller. */
async function drain<T>(events: AsyncIterable<T>, onEvent: (e: T) => void = () => undefined): Promise<boolean> {
  try {
    for await (const e of events) onEvent(e);
    return true;
  } catch {
    return false;
  }
}

export class DhtDirectory {
  private readonly dht: KadDHT;
  private readonly timeoutMs: number;
  private readonly provided = new Map<string, CID>();

  constructor(dht: KadDHT, timeoutMs: number) {
    this.dht = dht;
    this.timeoutMs = timeoutMs;
  }

  private signal(parent?: AbortSignal, timeoutMs = this.timeoutMs): AbortSignal {
    const t = AbortSignal.timeout(timeoutMs);
    return parent ? AbortSignal.any([parent, t]) : t;
  }

  /** Provides a CID per model and chain not provided yet (the DHT's reprovider keeps them alive); withdraws dropped ones. */
  async provideAll(models: string[], chains: string[], parent?: AbortSignal): Promise<void> {
    const wanted = new Map<string, CID>();
    for (const m of models) wanted.set(`model:${m}`, await modelCid(m));
    for (const c of chains) wanted.set(`chain:${c}`, await chainCid(c));
    for (const [name, cid] of this.provided) {
      if (wanted.has(name)) continue;
      this.provided.delete(name);
      await this.dht.cancelReprovide(cid, { signal: this.signal(parent) }).catch(() => undefined);
    }
    for (const [name, cid] of wanted) {
      if (this.provided.has(name)) continue;
      if (await drain(this.dht.provide(cid, { signal: this.signal(parent) }))) this.provided.set(name, cid);
    }
  }

  async putRecord(record: CapacityRecord, parent?: AbortSignal): Promise<boolean> {
    return drain(this.dht.put(capacityKey(record.peerId), encodeCapacityRecord(record), { signal: this.signal(parent) }));
  }

  /** The best valid capacity record the DHT holds for a peer, or null. */
  async getRecord(peerId: string, parent?: AbortSignal): Promise<CapacityRecord | null> {
    let last: Uint8Array | null = null;
    await drain(this.dht.get(capacityKey(peerId), { signal: this.signal(parent) }), (e) => {
      if (e.name === 'VALUE') last = e.value;
    });
    if (last === null) return null;
    try {
      return await verifyCapacityRecord(last);
    } catch {
      return null;
    }
  }

  /** Peer ids that provide `model`, found within `timeoutMs`. */
  async findModelProviders(model: string, timeoutMs: number, parent?: AbortSignal): Promise<string[]> {
    const found = new Set<string>();
    await drain(this.dht.findProviders(await modelCid(model), { signal: this.signal(parent, timeoutMs) }), (e) => {
      if (e.name === 'PROVIDER') for (const p of e.providers) found.add(p.id.toString());
    });
    return [...found];
  }
}
