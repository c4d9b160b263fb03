// Pushes each local op of a log to the mesh on its gossipsub topic, and admits only well-formed, origin-signed ops from it.
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipsubMessage, TopicValidatorFn } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import type { MeshNode } from '../node.ts';
import { applyVerified, checkWireOp } from './apply.ts';
import type { ApplyContext } from './apply.ts';
import type { LocalOpNotice } from './local-ops.ts';
import { signOp, signOpDigest } from './proof.ts';
import { decodeJson, encodeJson } from './wire.ts';
import type { OpGossip, WireOp } from './wire.ts';

export interface OpGossipContext extends ApplyContext {
  pubsub: MeshNode['pubsub'];
  privateKey: PrivateKey;
  maxGossipBytes: number;
  /** Asks for a sync with `peer`: an op went missing (sequence gap) or was too big to gossip. */
  requestSync(peer: string, reason: string): void;
  /** Whether a peer is connected directly (the origin is the best source of its own ops). */
  connected(peer: string): boolean;
}

/** Envelopes the validator accepted, so the message handler does not parse and verify twice. */
const accepted = new WeakMap<Uint8Array, OpGossip>();

type RawEnvelope = { t?: unknown; op?: unknown; proof?: unknown };

function decodeEnvelope(data: Uint8Array): RawEnvelope | null {
  try {
    const v = decodeJson(data);
    return typeof v === 'object' && v !== null ? (v as RawEnvelope) : null;
  } catch {
    return null;
  }
}

export function opValidator(ctx: OpGossipContext): TopicValidatorFn {
  return async (_peer, msg) => {
    const env = msg.data.byteLength <= ctx.maxGossipBytes ? decodeEnvelope(msg.data) : null;
    // A `have` notice carries the header only: it is checked as the content-less op its proof also covers.
    const wire =
      env?.t === 'op'
        ? await checkWireOp(ctx, env)
        : env?.t === 'have'
          ? await checkWireOp(ctx, { op: { ...(env.op as object), payload: null }, proof: env.proof })
          : null;
    // Local ops always carry their content; a content-less `op` could only be a relay withholding a document.
    if (!env || !wire || (env.t === 'op' && wire.op.payload === null)) {
      ctx.state.counts.opsRejected++;
      // Per message, and a hostile member can send many: counted in the status, told at debug (gossipsub scores the sender).
      ctx.log.debug({ from: msg.type === 'signed' ? msg.from.toString() : null, bytes: msg.data.byteLength }, 'replication:gossip-rejected');
      return TopicValidatorResult.Reject;
    }
    accepted.set(msg.data, { t: env.t as 'op' | 'have', ...wire });
    return TopicValidatorResult.Accept;
  };
}

/**
 * Signs a local op, keeps the proof with it, and publishes it (or, when too big, a notice that it exists). A large op
 * comes without its payload: it is signed over the digest computed off the main thread, and only announced.
 */
export async function publishLocalOp(ctx: OpGossipContext, { op, info, stored }: LocalOpNotice): Promise<void> {
  const domain = ctx.channel.proofDomain;
  const digest = info.digest ?? (stored === undefined || !ctx.store.large ? null : await ctx.store.large.digest(stored));
  if (op.payload === null && digest === null) return;
  const proof = digest === null ? await signOp(ctx.privateKey, op, domain) : await signOpDigest(ctx.privateKey, op, digest, domain);
  ctx.store.setOpProof(op.origin, op.seq, proof);
  const whole = op.payload !== null && info.bytes < ctx.maxGossipBytes ? encodeJson({ t: 'op', op, proof } satisfies OpGossip) : null;
  const data =
    whole !== null && whole.byteLength <= ctx.maxGossipBytes ? whole : encodeJson({ t: 'have', op: { ...op, payload: null }, proof } satisfies OpGossip);
  await ctx.pubsub.publish(ctx.channel.topic, data);
  ctx.state.counts.opsSent++;
}

/**
 * Passes on an origin's newest op that this node learnt by sync (header only when it came without content): peers
 * that lack it see a sequence gap or a notice and pull at once, instead of at their next anti-entropy round.
 */
export async function relayOp(ctx: OpGossipContext, wire: WireOp): Promise<void> {
  let data = wire.op.payload === null ? null : encodeJson({ t: 'op', op: wire.op, proof: wire.proof } satisfies OpGossip);
  if (data === null || data.byteLength > ctx.maxGossipBytes)
    data = encodeJson({ t: 'have', op: { ...wire.op, payload: null }, proof: wire.proof } satisfies OpGossip);
  await ctx.pubsub.publish(ctx.channel.topic, data);
}

export function onOpMessage(ctx: OpGossipContext, evt: GossipsubMessage): void {
  const { msg, propagationSource } = evt;
  if (msg.topic !== ctx.channel.topic) return;
  const env = accepted.get(msg.data);
  if (!env) return;
  const { op } = env;
  const known = ctx.store.versionVector()[op.origin] ?? 0;
  if (op.seq <= known) return;
  const source = ctx.connected(op.origin) ? op.origin : propagationSource.toString();
  if (env.t === 'have') {
    ctx.requestSync(source, 'too big for gossip');
    return;
  }
  applyVerified(ctx, propagationSource.toString(), [env]);
  if (op.seq > known + 1) ctx.requestSync(source, 'sequence gap');
}
