// Anti-entropy over a log's sync protocol (`/flowrouter/kb-sync/1.0.0`, `/flowrouter/keys-sync/1.0.0`): the initiator
// sends its version vector, the responder streams what it lacks.
import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import type { StoredOp, VersionVector } from '../../oplog/index.ts';
import { applyLargeOp, applyVerified, verifyWireOps } from './apply.ts';
import type { ApplyContext } from './apply.ts';
import { signOp, signOpDigest } from './proof.ts';
import { MAX_SYNC_OP_BYTES, SYNC_PIECE_BYTES, decodeJson, encodeJson, parseVersionVector, syncStream } from './wire.ts';
import type { SyncAck, SyncFrame, SyncRequest, SyncStream, WireOp } from './wire.ts';
import { MeshProtocolError, MeshStreamClosed, MeshSyncOpTooLarge } from '../../core/errors.ts';

export interface SyncContext extends ApplyContext {
  privateKey: PrivateKey;
  /** Ops per page read from the log, and the byte size at which a frame (and a page) is cut. */
  batchOps: number;
  batchBytes: number;
  /** Longest wait for any one frame. */
  frameTimeoutMs: number;
}

const encoder = new TextEncoder();
const MORE = encodeJson({ t: 'more' } satisfies SyncAck);

async function readFrame(lp: SyncStream, signal: AbortSignal): Promise<Uint8Array> {
  return (await lp.read({ signal })).subarray();
}

/**
 * The op's wire form, `{"op":…,"proof":…}`, built around the stored payload so a large document is not parsed and
 * re-encoded (a large one stays bytes). A local op written before the replicator ran (or by another process) is signed
 * now, its proof kept.
 */
async function wireForm(ctx: SyncContext, row: StoredOp): Promise<string | Uint8Array | null> {
  let proof = row.proof;
  if (proof === null) {
    if (row.origin !== ctx.store.origin) return null;
    const { payload, proof: _none, ...header } = row;
    const domain = ctx.channel.proofDomain;
    // A large payload is digested off the main thread rather than parsed here.
    proof =
      typeof payload === 'string' || payload === null || !ctx.store.large
        ? await signOp(ctx.privateKey, { ...header, payload: payload === null ? null : JSON.parse(String(payload)) }, domain)
        : await signOpDigest(ctx.privateKey, header, await ctx.store.large.digest(payload), domain);
    ctx.store.setOpProof(row.origin, row.seq, proof);
  }
  const head =
    `{"op":{"origin":${JSON.stringify(row.origin)},"seq":${row.seq},"hlc":${JSON.stringify(row.hlc)},"docId":${JSON.stringify(row.docId)},`
    + `"kind":${JSON.stringify(row.kind)},"payload":`;
  const tail = `},"proof":${JSON.stringify(proof)}}`;
  if (typeof row.payload === 'string' || row.payload === null) return `${head}${row.payload ?? 'null'}${tail}`;
  return Buffer.concat([Buffer.from(head), row.payload, Buffer.from(tail)]);
}

/**
 * Streams the ops `since` lacks: small ones in frames of at most `batchOps` ops and about `batchBytes` bytes, a big
 * one alone in pieces. Each frame after the first waits for the initiator's `more` (sent as it reads the previous
 * one), so at most one frame waits unread at the initiator and memory stays bounded on both sides.
 */
async function streamMissing(ctx: SyncContext, lp: SyncStream, since: VersionVector, lifetime: AbortSignal): Promise<number> {
  const cursor = { ...since };
  let sent = 0;
  let batch: string[] = [];
  let bytes = 0;
  let acked = true;
  const frameSignal = (): AbortSignal => AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
  const send = async (frame: Uint8Array): Promise<void> => {
    if (!acked) {
      const ack = decodeJson(await readFrame(lp, frameSignal())) as { t?: unknown } | null;
      if (ack?.t !== 'more') throw new MeshProtocolError('sync acknowledgement');
    }
    await lp.write(frame, { signal: frameSignal() });
    acked = false;
  };
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await send(encoder.encode(`{"t":"ops","ops":[${batch.join(',')}]}`));
    sent += batch.length;
    batch = [];
    bytes = 0;
  };
  for (;;) {
    const page = ctx.store.storedOpsSince(cursor, { ops: ctx.batchOps, bytes: ctx.batchBytes });
    if (page.length === 0) break;
    for (const row of page) {
      cursor[row.origin] = Math.max(cursor[row.origin] ?? 0, row.seq);
      const item = await wireForm(ctx, row);
      if (item === null) continue;
      const size = typeof item === 'string' ? Buffer.byteLength(item) : item.byteLength;
      if (size > SYNC_PIECE_BYTES) {
        await flush();
        const whole = typeof item === 'string' ? encoder.encode(item) : item;
        await send(encodeJson({ t: 'op-start', bytes: whole.byteLength } satisfies SyncFrame));
        for (let at = 0; at < whole.byteLength; at += SYNC_PIECE_BYTES) await send(whole.subarray(at, at + SYNC_PIECE_BYTES));
        sent++;
        continue;
      }
      if (batch.length > 0 && (bytes + size > ctx.batchBytes || batch.length >= ctx.batchOps)) await flush();
      batch.push(typeof item === 'string' ? item : Buffer.from(item).toString('utf8'));
      bytes += size;
    }
  }
  await flush();
  await send(encodeJson({ t: 'end', vv: ctx.store.versionVector() } satisfies SyncFrame));
  return sent;
}

/** The responder: answers one vector with the missing ops, then its own vector. */
export function syncHandler(ctx: SyncContext, lifetime: AbortSignal) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString();
    const lp = syncStream(stream);
    const signal = AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
    try {
      const vv = parseVersionVector((decodeJson(await readFrame(lp, signal)) as { vv?: unknown } | null)?.vv);
      if (!vv) throw new MeshProtocolError('sync request');
      ctx.state.learnVector(peer, vv, false);
      ctx.state.counts.opsSent += await streamMissing(ctx, lp, vv, lifetime);
      await stream.close({ signal: AbortSignal.timeout(ctx.frameTimeoutMs) });
    } catch (err) {
      ctx.log.info({ peer, error: (err as Error).message }, 'replication:sync-serve-failed');
      stream.abort(err instanceof Error ? err : new MeshStreamClosed('sync failed'));
    }
  };
}

export interface PullResult {
  received: number;
  applied: number;
  /** Per origin whose ops this pull added, the newest op received (without its content when that is large). */
  newest: WireOp[];
}

/** Content kept for relaying the newest op of an origin; a bigger op is relayed as its header alone. */
const RELAY_CONTENT_BYTES = 64 * 1024;

/** Reads the pieces of one big op (acknowledging each) into one buffer of the announced size. */
async function readPieces(lp: SyncStream, total: unknown, signal: () => AbortSignal): Promise<Uint8Array> {
  if (!Number.isSafeInteger(total) || (total as number) <= 0 || (total as number) > MAX_SYNC_OP_BYTES) {
    throw new MeshSyncOpTooLarge(String(total), MAX_SYNC_OP_BYTES);
  }
  const whole = new Uint8Array(total as number);
  let got = 0;
  while (got < whole.byteLength) {
    const piece = await readFrame(lp, signal());
    if (piece.byteLength === 0 || got + piece.byteLength > whole.byteLength) throw new MeshProtocolError('sync piece (beyond the announced op size)');
    await lp.write(MORE, { signal: signal() });
    whole.set(piece, got);
    got += piece.byteLength;
  }
  return whole;
}

/** The initiator: sends this node's vector to `peer` and applies what comes back, one transaction per frame. */
export async function pullFrom(ctx: SyncContext, host: Libp2p, peer: PeerId, lifetime: AbortSignal): Promise<PullResult> {
  const id = peer.toString();
  const open = host.getConnections(peer).find((c) => c.status === 'open');
  const dialSignal = AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
  const protocol = ctx.channel.syncProtocol;
  const stream = open ? await open.newStream(protocol, { signal: dialSignal }) : await host.dialProtocol(peer, protocol, { signal: dialSignal });
  const lp = syncStream(stream);
  const frameSignal = (): AbortSignal => AbortSignal.any([lifetime, AbortSignal.timeout(ctx.frameTimeoutMs)]);
  const result: PullResult = { received: 0, applied: 0, newest: [] };
  const before = ctx.store.versionVector();
  const newest = new Map<string, WireOp>();
  try {
    await lp.write(encodeJson({ vv: ctx.store.versionVector() } satisfies SyncRequest), { signal: dialSignal });
    for (;;) {
      const frame = decodeJson(await readFrame(lp, frameSignal())) as SyncFrame;
      if (frame?.t === 'end') {
        const vv = parseVersionVector(frame.vv);
        if (!vv) throw new MeshProtocolError('sync end frame');
        ctx.state.learnVector(id, vv, true);
        break;
      }
      // Asking for the next frame first lets the responder read and encode it while this one is verified and applied.
      await lp.write(MORE, { signal: frameSignal() });
      if (frame?.t === 'op-start') {
        // A large op: parsed and checked in the knowledge worker, its chunks indexed in the background.
        result.received++;
        const large = await applyLargeOp(ctx, id, await readPieces(lp, frame.bytes, frameSignal));
        if (large) {
          result.applied += large.applied ? 1 : 0;
          const { header } = large.decoded;
          if (header.seq > (newest.get(header.origin)?.op.seq ?? 0)) newest.set(header.origin, { op: { ...header, payload: null }, proof: large.proof });
        }
        continue;
      }
      if (frame?.t !== 'ops' || !Array.isArray(frame.ops)) throw new MeshProtocolError('sync frame');
      const ops: unknown[] = frame.ops;
      result.received += ops.length;
      const valid = await verifyWireOps(ctx, id, ops);
      result.applied += applyVerified(ctx, id, valid);
      for (const w of valid) {
        if (w.op.seq <= (newest.get(w.op.origin)?.op.seq ?? 0)) continue;
        const small = ((w.op.payload as { text?: string } | null)?.text?.length ?? 0) <= RELAY_CONTENT_BYTES;
        newest.set(w.op.origin, small ? w : { op: { ...w.op, payload: null }, proof: w.proof });
      }
    }
    const after = ctx.store.versionVector();
    result.newest = [...newest.values()].filter((w) => (after[w.op.origin] ?? 0) > (before[w.op.origin] ?? 0));
    await stream.close({ signal: AbortSignal.timeout(ctx.frameTimeoutMs) }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
    return result;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new MeshStreamClosed('sync failed'));
    throw err;
  }
}
