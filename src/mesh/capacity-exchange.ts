// The direct capacity protocol: two peers swap their signed records on connect and on every heartbeat.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { encodeCapacityRecord, verifyCapacityRecord } from './capacity-record.ts';
import type { CapacityRecord } from './capacity-record.ts';
import { CAPACITY_PROTOCOL, frameStream } from './frames.ts';
import type { FrameStream } from './frames.ts';
import type { PeerTable } from './peer-table.ts';
import { CapacityRecordInvalid, MeshStreamClosed, NotMeshMember } from '../core/errors.ts';

/** Bound on one exchange, dial included. */
const EXCHANGE_TIMEOUT_MS = 5_000;

async function readPeerRecord(lp: FrameStream, remote: string, signal: AbortSignal): Promise<CapacityRecord> {
  const record = await verifyCapacityRecord((await lp.read({ signal })).subarray());
  // A peer may only speak for itself: its record must carry the id Noise authenticated.
  if (record.peerId !== remote) throw new CapacityRecordInvalid('from another peer');
  return record;
}

export interface CapacityExchangeInit {
  host: Libp2p;
  table: PeerTable;
  allowlist: ReadonlySet<string> | null;
  ownRecord(): Promise<CapacityRecord>;
  /** Told when a peer completed an exchange (either side started it): proof the connection works now. */
  onContact?(peer: string): void;
}

export function capacityHandler(init: CapacityExchangeInit) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString();
    if (init.allowlist && !init.allowlist.has(remote)) {
      stream.abort(new NotMeshMember());
      return;
    }
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS);
    const lp = frameStream(stream);
    const theirs = await readPeerRecord(lp, remote, signal);
    init.table.updateRecord(theirs);
    init.onContact?.(remote);
    await lp.write(encodeCapacityRecord(await init.ownRecord()), { signal });
    await stream.close({ signal });
  };
}

/** Sends our record to `peer` and stores theirs; false when the peer could not be reached or answered badly. */
export async function exchangeCapacity(init: CapacityExchangeInit, peer: PeerId, parent?: AbortSignal): Promise<boolean> {
  const signal = parent ? AbortSignal.any([parent, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)]) : AbortSignal.timeout(EXCHANGE_TIMEOUT_MS);
  let stream: Stream | undefined;
  try {
    stream = await init.host.dialProtocol(peer, CAPACITY_PROTOCOL, { signal });
    const lp = frameStream(stream);
    await lp.write(encodeCapacityRecord(await init.ownRecord()), { signal });
    init.table.updateRecord(await readPeerRecord(lp, peer.toString(), signal));
    init.onContact?.(peer.toString());
    await stream.close({ signal });
    return true;
  } catch {
    stream?.abort(new MeshStreamClosed('capacity exchange failed'));
    return false;
  }
}
