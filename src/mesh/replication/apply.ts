// Turns ops from the wire into store writes: parse, check the origin's proof, then apply a batch in one transaction.
import { FlowRouterError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { DecodedLargeOp, LogChannel, ReplicatedStore } from './channel.ts';
import { verifyOp, verifyOpDigest } from './proof.ts';
import type { ReplicationState } from './state.ts';
import type { WireOp } from './wire.ts';

export interface ApplyContext {
  store: ReplicatedStore;
  channel: LogChannel;
  state: ReplicationState;
  log: Logger;
}

/** A well-formed op of this channel's log with a valid origin signature, or null. */
export async function checkWireOp(ctx: Pick<ApplyContext, 'store' | 'channel'>, input: unknown): Promise<WireOp | null> {
  if (typeof input !== 'object' || input === null) return null;
  const { op: raw, proof } = input as { op?: unknown; proof?: unknown };
  try {
    const op = ctx.store.parseOp(raw);
    return typeof proof === 'string' && (await verifyOp(op, proof, ctx.channel.proofDomain)) ? { op, proof } : null;
  } catch {
    return null;
  }
}

/**
 * The items that are well-formed ops with a valid origin signature (checked concurrently); forged or malformed ones
 * are counted and logged. An op whose clock is too far ahead is refused later, by the store (applyVerified).
 */
export async function verifyWireOps(ctx: ApplyContext, peer: string, items: readonly unknown[]): Promise<WireOp[]> {
  const checked = await Promise.all(items.map((item) => checkWireOp(ctx, item)));
  const valid = checked.filter((w): w is WireOp => w !== null);
  const rejected = items.length - valid.length;
  if (rejected > 0) {
    ctx.state.counts.opsRejected += rejected;
    ctx.log.warn({ peer, ops: rejected, reason: 'malformed or bad origin signature' }, 'replication:rejected');
  }
  return valid;
}

/**
 * Applies ops whose proofs were already checked, in one transaction. An op without content (compaction dropped it) is
 * taken only once a newer op for its document is held: a peer could otherwise strip a live document's content and,
 * with that op's slot filled, the real one would never be applied. A held-back op comes again with the next sync.
 */
export function applyVerified(ctx: ApplyContext, peer: string, valid: readonly WireOp[]): number {
  let applied = 0;
  let heldBack = 0;
  const failures = new Failures();
  const ordered = [...valid.filter((w) => w.op.payload !== null), ...valid.filter((w) => w.op.payload === null)];
  ctx.store.db.transaction(() => {
    for (const { op, proof } of ordered) {
      if (op.payload === null && (ctx.store.latestHlc(op.docId) ?? '') <= op.hlc) {
        heldBack++;
        continue;
      }
      if (applyOne(ctx, op, () => ctx.store.applyRemote(op, proof), failures)) applied++;
    }
  })();
  if (heldBack > 0) ctx.log.debug({ peer, ops: heldBack, reason: 'content-less op not yet superseded' }, 'replication:held-back');
  failures.log(ctx, peer);
  ctx.state.counts.opsApplied += applied;
  return applied;
}

/**
 * The ops of one batch the store refused, by reason: logged as one line per reason and batch (how many, and the first
 * one's origin, sequence and error), so a peer with a skewed clock and a long backlog does not flood the log.
 */
class Failures {
  readonly #byEvent = new Map<string, { ops: number; origin: string; seq: number; error: string }>();

  add(event: string, op: { origin: string; seq: number }, error: string): void {
    const seen = this.#byEvent.get(event);
    if (seen) seen.ops++;
    else this.#byEvent.set(event, { ops: 1, origin: op.origin, seq: op.seq, error });
  }

  log(ctx: ApplyContext, peer: string): void {
    for (const [event, first] of this.#byEvent) ctx.log.warn({ peer, ...first }, event);
  }
}

/** Applies one op, counting what happened and noting a refusal; true when it changed the store. */
function applyOne(ctx: ApplyContext, op: { origin: string; seq: number }, apply: () => string, failures: Failures): boolean {
  try {
    const applied = apply() === 'applied';
    ctx.state.counts.opsReceived++;
    return applied;
  } catch (err) {
    ctx.state.counts.opsRejected++;
    const code = err instanceof FlowRouterError ? err.code : undefined;
    failures.add(code === 'clock_skew' ? 'replication:clock-skew' : 'replication:apply-failed', op, (err as Error).message);
    return false;
  }
}

/**
 * A large op that arrived in pieces: parsed, validated and digested off the main thread (the main thread only checks
 * the signature over the digest), then applied; a document's chunks are indexed in the background. Null when it was
 * malformed or forged, or this log takes no large ops (counted and logged like any other).
 */
export async function applyLargeOp(
  ctx: ApplyContext,
  peer: string,
  bytes: Uint8Array,
): Promise<{ decoded: DecodedLargeOp; proof: string; applied: boolean } | null> {
  const large = ctx.store.large;
  const decoded = large ? await large.decode(bytes).catch(() => null) : null;
  const proof = decoded?.proof;
  // A content-less op comes whole through gossip or batches; in pieces it would only be a relay withholding content.
  if (
    !large
    || !decoded
    || decoded.digest === null
    || typeof proof !== 'string'
    || !(await verifyOpDigest(decoded.header, decoded.digest, proof, ctx.channel.proofDomain))
  ) {
    ctx.state.counts.opsRejected++;
    ctx.log.warn({ peer, ops: 1, reason: 'malformed or bad origin signature' }, 'replication:rejected');
    return null;
  }
  const failures = new Failures();
  const applied = applyOne(ctx, decoded.header, () => large.apply(decoded, proof), failures);
  failures.log(ctx, peer);
  if (applied) ctx.state.counts.opsApplied++;
  return { decoded, proof, applied };
}
