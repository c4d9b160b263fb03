// Replication's wire formats: the gossip topics and their envelopes, and the anti-entropy protocol's frames.
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { CacheEntry } from '../../cache/index.ts';
import { MAX_OP_PAYLOAD_BYTES } from '../../knowledge/index.ts';
import type { LogOp, VersionVector } from '../../oplog/index.ts';
import { KB_CHANNEL, KEYS_CHANNEL } from './channel.ts';

export const KB_TOPIC = KB_CHANNEL.topic;
export const KEYS_TOPIC = KEYS_CHANNEL.topic;
export const CACHE_TOPIC = '/flowrouter/cache/1';
export const KB_SYNC_PROTOCOL = KB_CHANNEL.syncProtocol;
/** Largest gossip message accepted; a bigger op is announced with a `have` notice and fetched over sync. */
export const MAX_GOSSIP_BYTES = 256 * 1024;
/**
 * Largest sync frame. A batch is cut at `batchBytes` (1 MiB) and an op bigger than a piece travels in pieces, so frames
 * stay well under the 4 MiB a libp2p byte stream buffers unread (a bigger frame could never be read at all).
 */
export const MAX_SYNC_FRAME_BYTES = 3 * 1024 * 1024;
/** An op whose wire form is bigger than this travels as an `op-start` frame and raw pieces of at most this size. */
export const SYNC_PIECE_BYTES = 256 * 1024;
/** Largest op accepted in pieces: the store's payload limit plus the op's header and proof. */
export const MAX_SYNC_OP_BYTES = MAX_OP_PAYLOAD_BYTES + 64 * 1024;

/** An op as it travels: the op and its origin's proof (see proof.ts). */
export interface WireOp<O extends LogOp = LogOp> {
  op: O;
  proof: string;
}

export type OpGossip =
  | { t: 'op'; op: LogOp; proof: string }
  /** A too-big op's header (its payload left out); receivers fetch the op itself over sync. */
  | { t: 'have'; op: LogOp; proof: string };

export interface CacheGossip {
  origin: string;
  entry: CacheEntry;
  sig: string;
}

export type SyncRequest = { vv: VersionVector };
/** The initiator's request for the next frame: one is sent after each frame read, so one at most waits unread. */
export type SyncAck = { t: 'more' };
export type SyncFrame =
  | { t: 'ops'; ops: WireOp[] }
  /** One op of `bytes` bytes (its JSON wire form) follows in raw frames of at most SYNC_PIECE_BYTES each. */
  | { t: 'op-start'; bytes: number }
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
