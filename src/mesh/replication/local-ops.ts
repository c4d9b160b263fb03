// Hands every op this node originates to the publisher once, whether this process wrote it or another one did
// (`flowrouter kb` and `flowrouter keys` write to the same SQLite file while the node runs).
import type { LocalOpInfo, LogOp, StoredOp } from '../../oplog/index.ts';
import type { ReplicatedStore } from './channel.ts';

/** A local op to publish: a large one without its payload, which is signed from its stored JSON (`stored`). */
export interface LocalOpNotice {
  op: LogOp;
  info: LocalOpInfo;
  stored?: Uint8Array;
}

export interface LocalOpsInit {
  store: ReplicatedStore;
  publish(notice: LocalOpNotice): void;
  /** How often the database is asked whether another connection committed (PRAGMA data_version: no table read). */
  pollMs: number;
}

/** Ops read per poll tick: a large `kb add` is published over a few ticks rather than in one burst. */
const OPS_PER_TICK = 500;
/** Payload characters read per tick: one 16 MiB document, or many small ones. */
const BYTES_PER_TICK = 1024 * 1024;

/** A stored op as the publisher takes it: a large payload (read as bytes) is not parsed here: it would hold the event loop. */
function noticeOf(row: StoredOp): LocalOpNotice {
  const { payload, proof: _proof, ...header } = row;
  if (payload !== null && typeof payload !== 'string')
    return { op: { ...header, payload: null }, info: { bytes: payload.byteLength, digest: null }, stored: payload };
  const bytes = payload === null ? 0 : Buffer.byteLength(payload);
  return { op: { ...header, payload: payload === null ? null : JSON.parse(payload) }, info: { bytes, digest: null } };
}

export function followLocalOps(init: LocalOpsInit): () => void {
  const { store } = init;
  // Ops written before this point reach peers through anti-entropy; gossip carries only new ones.
  let published = store.localSeq();
  const version = store.db.prepare('PRAGMA data_version').pluck();
  let seen = version.get();
  let backlog = false;
  const offLocal = store.onLocalOp((op, info) => {
    published = Math.max(published, op.seq);
    init.publish({ op, info });
  });
  const timer = setInterval(() => {
    const now = version.get();
    if (now === seen && !backlog) return;
    seen = now;
    const ops = store.localOpsAfter(published, { ops: OPS_PER_TICK, bytes: BYTES_PER_TICK });
    backlog = ops.length > 0;
    for (const row of ops) {
      published = row.seq;
      init.publish(noticeOf(row));
    }
  }, init.pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    offLocal();
  };
}
