// Anti-entropy over `/flowrouter/kb-sync/1.0.0`: the initiator sends its version vector, the responder streams what it lacks.
import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import type { ProvenOp, VersionVector } from '../../knowledge/index.ts';
import { applyWireOps } from './apply.ts';
import type { ApplyContext } from './apply.ts';
import { signOp } from './proof.ts';
import { KB_SYNC_PROTOCOL, decodeJson, encodeJson, parseVersionVector, syncStream } from './wire.ts';
import type { SyncAck, SyncFrame, SyncRequest, SyncStream } from './wire.ts';
import { MeshProtocolError, MeshStreamClosed } from '../../core/errors.ts';

export interface SyncContext extends ApplyContext {
  privateKey: PrivateKey;
  /** Ops per page read from the log, and the byte size at which a frame is cut. */
  batchOps: number;
  batchBytes: number;
  /** Longest wait for any one frame. */
  frameTimeoutMs: number;
}

async function read(lp: SyncStream, signal: AbortSignal): Promise<unknown> {
  return decodeJson((await lp.read({ signal })).subarray());
}

/** The op's wire form; a local op written before the replicator ran is signed now and its proof kept. */
async function wireForm(ctx: SyncContext, p: ProvenOp): Promise<string | null> {
  let proof = p.proof;
  if (proof === null) {
    if (p.op.origin !== ctx.store.origin) return null;
    proof = await signOp(ctx.privateKey, p.op);
    ctx.store.setOpProof(p.op.origin, p.op.seq, proof);
  }
  return JSON.stringify({ op: p.op, proof });
}

/**
 * Streams the ops `since` lacks in frames of at most `batchOps` ops and about `batchBytes` bytes. Each frame waits for
 * the initiator's `more` (sent as it starts on the previous one), so a slow applier never has more than a frame queued.
 */
async function streamMissing(ctx: SyncContext, lp: SyncStream, since: VersionVector, lifetime: AbortSignal): Promise<number> {
  const cursor = { ...since };
  let sent = 0;
  let batch: string[] = [];
  let bytes = 0;
  let acked = true;
  const frameSignal = (): AbortSignal => AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    if (!acked) {
      const ack = await read(lp, frameSignal()) as { t?: unknown } | null;
      if (ack?.t !== 'more') throw new MeshProtocolError('sync acknowledgement');
    }
    await lp.write(new TextEncoder().encode(`{"t":"ops","ops":[${batch.join(',')}]}`), { signal: frameSignal() });
    acked = false;
    sent += batch.length;
    batch = [];
    bytes = 0;
  };
  for (;;) {
    const page = ctx.store.provenOpsSince(cursor, ctx.batchOps);
    if (page.length === 0) break;
    for (const p of page) {
      cursor[p.op.origin] = Math.max(cursor[p.op.origin] ?? 0, p.op.seq);
      const item = await wireForm(ctx, p);
      if (item === null) continue;
      if (batch.length > 0 && (bytes + item.length > ctx.batchBytes || batch.length >= ctx.batchOps)) await flush();
      batch.push(item);
      bytes += item.length;
    }
  }
  await flush();
  return sent;
}

/** The responder: answers one vector with the missing ops, then its own vector. */
export function syncHandler(ctx: SyncContext, lifetime: AbortSignal) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString();
    const lp = syncStream(stream);
    const signal = AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
    try {
      const vv = parseVersionVector((await read(lp, signal) as { vv?: unknown } | null)?.vv);
      if (!vv) throw new MeshProtocolError('sync request');
      ctx.state.learnVector(peer, vv, false);
      const sent = await streamMissing(ctx, lp, vv, lifetime);
      ctx.state.counts.opsSent += sent;
      await lp.write(encodeJson({ t: 'end', vv: ctx.store.versionVector() } satisfies SyncFrame), { signal: AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]) });
      await stream.close({ signal: AbortSignal.timeout(ctx.frameTimeoutMs) });
    } catch (err) {
      ctx.log('replication:sync-serve-failed', { peer, error: (err as Error).message });
      stream.abort(err instanceof Error ? err : new MeshStreamClosed('sync failed'));
    }
  };
}

export interface PullResult { received: number; applied: number }

/** The initiator: sends this node's vector to `peer` and applies what comes back, one transaction per frame. */
export async function pullFrom(ctx: SyncContext, host: Libp2p, peer: PeerId, lifetime: AbortSignal): Promise<PullResult> {
  const id = peer.toString();
  const open = host.getConnections(peer).find((c) => c.status === 'open');
  const dialSignal = AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
  const stream = open ? await open.newStream(KB_SYNC_PROTOCOL, { signal: dialSignal }) : await host.dialProtocol(peer, KB_SYNC_PROTOCOL, { signal: dialSignal });
  const lp = syncStream(stream);
  const result: PullResult = { received: 0, applied: 0 };
  try {
    await lp.write(encodeJson({ vv: ctx.store.versionVector() } satisfies SyncRequest), { signal: dialSignal });
    for (;;) {
      const frame = await read(lp, AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)])) as SyncFrame;
      if (frame?.t === 'ops' && Array.isArray(frame.ops)) {
        // Asking for the next frame first lets the responder read and encode it while this one is verified and applied.
        await lp.write(encodeJson({ t: 'more' } satisfies SyncAck), { signal: lifetime });
        result.received += frame.ops.length;
        result.applied += await applyWireOps(ctx, id, frame.ops);
      } else if (frame?.t === 'end') {
        const vv = parseVersionVector(frame.vv);
        if (!vv) throw new MeshProtocolError('sync end frame');
        ctx.state.learnVector(id, vv, true);
        break;
      } else {
        throw new MeshProtocolError('sync frame');
      }
    }
    await stream.close({ signal: AbortSignal.timeout(ctx.frameTimeoutMs) }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
    return result;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new MeshStreamClosed('sync failed'));
    throw err;
  }
}
