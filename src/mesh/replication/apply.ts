// Turns ops from the wire into store writes: parse, check the origin's proof, then apply a batch in one transaction.
import { FlowRouterError } from '../../core/errors.ts';
import { parseOp } from '../../knowledge/index.ts';
import type { KnowledgeStore } from '../../knowledge/index.ts';
import type { MeshLog } from '../types.ts';
import { verifyOp } from './proof.ts';
import type { ReplicationState } from './state.ts';
import type { WireOp } from './wire.ts';

export interface ApplyContext {
  store: KnowledgeStore;
  state: ReplicationState;
  log: MeshLog;
}

/** A well-formed op with a valid origin signature, or null. */
export async function checkWireOp(input: unknown): Promise<WireOp | null> {
  if (typeof input !== 'object' || input === null) return null;
  const { op: raw, proof } = input as { op?: unknown; proof?: unknown };
  try {
    const op = parseOp(raw);
    return typeof proof === 'string' && await verifyOp(op, proof) ? { op, proof } : null;
  } catch {
    return null;
  }
}

/**
 * Verifies and applies ops received from `peer`; forged or malformed ones are counted and dropped, and an op whose
 * clock is too far ahead is refused by the store and logged (a node without a real-time clock is the usual cause).
 */
export async function applyWireOps(ctx: ApplyContext, peer: string, items: readonly unknown[]): Promise<number> {
  return applyVerified(ctx, peer, await verifyWireOps(ctx, peer, items));
}

/** The items that are well-formed ops with valid proofs (checked concurrently); the rest are counted and logged. */
export async function verifyWireOps(ctx: ApplyContext, peer: string, items: readonly unknown[]): Promise<WireOp[]> {
  const checked = await Promise.all(items.map(checkWireOp));
  const valid = checked.filter((w): w is WireOp => w !== null);
  const rejected = items.length - valid.length;
  if (rejected > 0) {
    ctx.state.counts.opsRejected += rejected;
    ctx.log('replication:rejected', { peer, ops: rejected, reason: 'malformed or bad origin signature' });
  }
  return valid;
}

/** Applies ops whose proofs were already checked, in one transaction. */
export function applyVerified(ctx: ApplyContext, peer: string, valid: readonly WireOp[]): number {
  let applied = 0;
  ctx.store.db.transaction(() => {
    for (const { op, proof } of valid) {
      try {
        if (ctx.store.applyRemote(op, proof) === 'applied') applied++;
        ctx.state.counts.opsReceived++;
      } catch (err) {
        ctx.state.counts.opsRejected++;
        const code = err instanceof FlowRouterError ? err.code : undefined;
        ctx.log(code === 'clock_skew' ? 'replication:clock-skew' : 'replication:apply-failed',
          { peer, origin: op.origin, seq: op.seq, error: (err as Error).message });
      }
    }
  })();
  ctx.state.counts.opsApplied += applied;
  return applied;
}
