// Replication's wire formats: the gossip topics and their envelopes, and the anti-entropy protocol's frames.
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { CacheEntry } from '../../cache/index.ts';
import type { KnowledgeOp, VersionVector } from '../../knowledge/index.ts';

export const KB_TOPIC = '/flowrouter/kb/1';
export const CACHE_TOPIC = '/flowrouter/cache/1';
export const KB_SYNC_PROTOCOL = '/flowrouter/kb-sync/1.0.0';
/** Largest gossip message accepted; a bigger op is announced with a `have` notice and fetched over sync. */
export const MAX_GOSSIP_BYTES = 256 * 1024;
/** Largest sync frame: a batch is cut at about 1 MB, but one document alone may be bigger than that. */
export const MAX_SYNC_FRAME_BYTES = 64 * 1024 * 1024;

/** An op as it travels: the op and its origin's proof (see proof.ts). */
export interface WireOp { op: KnowledgeOp; proof: string }

export type KbGossip =
  | { t: 'op'; op: KnowledgeOp; proof: string }
  /** A too-big op's header (its payload left out); receivers fetch the op itself over sync. */
  | { t: 'have'; op: KnowledgeOp; proof: string };

export interface CacheGossip { origin: string; entry: CacheEntry; sig: string }

export type SyncRequest = { vv: VersionVector };
/** The initiator's request for the next ops frame. */
export type SyncAck = { t: 'more' };
export type SyncFrame =
  | { t: 'ops'; ops: WireOp[] }
  /** The responder's own vector, so the initiator learns how far behind it is. */
  | { t: 'end'; vv: VersionVector };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}

export type SyncStream = LengthPrefixedStream<Stream>;

export function syncStream(stream: Stream): SyncStream {
  return lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES });
}

/** A version vector from the wire: origins to non-negative integer sequence numbers, nothing else. */
export function parseVersionVector(input: unknown): VersionVector | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const out: VersionVector = {};
  for (const [origin, seq] of Object.entries(input)) {
    if (!Number.isSafeInteger(seq) || (seq as number) < 0 || origin.length > 256) return null;
    out[origin] = seq as number;
  }
  return out;
}
