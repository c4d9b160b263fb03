// Hands every op this node originates to the publisher once, whether this process wrote it or another one did
// (`flowrouter kb` and `flowrouter keys` write to the same SQLite file while the node runs).
import type { LogOp } from '../../oplog/index.ts';
import type { ReplicatedStore } from './channel.ts';

export interface LocalOpsInit {
  store: ReplicatedStore;
  publish(op: LogOp): void;
  /** How often the database is asked whether another connection committed (PRAGMA data_version: no table read). */
  pollMs: number;
}

/** Ops read per poll tick: a large `kb add` is published over a few ticks rather than in one burst. */
const OPS_PER_TICK = 500;

export function followLocalOps(init: LocalOpsInit): () => void {
  const { store } = init;
  // Ops written before this point reach peers through anti-entropy; gossip carries only new ones.
  let published = store.localSeq();
  const version = store.db.prepare('PRAGMA data_version').pluck();
  let seen = version.get();
  let backlog = false;
  const offLocal = store.onLocalOp((op) => {
    published = Math.max(published, op.seq);
    init.publish(op);
  });
  const timer = setInterval(() => {
    const now = version.get();
    if (now === seen && !backlog) return;
    seen = now;
    const ops = store.localOpsAfter(published, OPS_PER_TICK);
    backlog = ops.length === OPS_PER_TICK;
    for (const op of ops) {
      published = op.seq;
      init.publish(op);
    }
  }, init.pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    offLocal();
  };
}
