// What the replicator needs from a store whose every change is an op in a log, and the channel one log travels on:
// the knowledge base and the client keys are replicated by the same machinery, each on its own topic and protocol.
import type { Db } from '../../core/database.ts';
import type { LocalOpInfo, LogOp, OpHeader, OpPageLimits, StoredOp, VersionVector } from '../../oplog/index.ts';

/** A large op decoded off the main thread: its header, the digest its proof must sign (null: no content), the proof. */
export interface DecodedLargeOp {
  header: OpHeader;
  digest: string | null;
  proof: unknown;
}

export interface ReplicatedStore<O extends LogOp = LogOp> {
  readonly db: Db;
  /** This node's origin id: its mesh peer id. */
  readonly origin: string;
  /** Checks an op from the wire (shape and payload) before anything else looks at it; throws when malformed. */
  parseOp(input: unknown): O;
  /** Applies a checked op with its proof of origin; safe to repeat and to receive out of order. */
  applyRemote(op: O, proof: string | null): 'applied' | 'stale' | 'duplicate';
  latestHlc(docId: string): string | null;
  versionVector(): VersionVector;
  storedOpsSince(since: VersionVector, limits: OpPageLimits): StoredOp[];
  setOpProof(origin: string, seq: number, proof: string): void;
  localSeq(): number;
  localOpsAfter(seq: number, limits: OpPageLimits): StoredOp[];
  onLocalOp(listener: (op: O, info: LocalOpInfo) => void): () => void;
  /** Forgets what every recently heard peer has seen and is past the horizon; a log that keeps everything returns zeros. */
  compactTombstones(horizonMs: number, peersVectors: readonly VersionVector[]): { tombstones: number; ops: number };
  /**
   * For a log whose payloads may be too large to parse or digest on the main thread (the knowledge base): those are
   * sent in pieces, decoded and digested off it, and applied as decoded. A log without it refuses an op in pieces.
   */
  readonly large?: {
    decode(bytes: Uint8Array): Promise<DecodedLargeOp>;
    digest(stored: Uint8Array): Promise<string>;
    apply(op: DecodedLargeOp, proof: string): 'applied' | 'stale' | 'duplicate';
  };
}

export interface LogChannel {
  /** Short name for logs and status (`kb`, `keys`). */
  name: string;
  /** Gossipsub topic its ops are published on. */
  topic: string;
  /** Anti-entropy stream protocol. */
  syncProtocol: string;
  /** Signed into every proof (`flowrouter/<domain>/1`), so an op signed for one log never verifies in another. */
  proofDomain: string;
}

export const KB_CHANNEL: LogChannel = { name: 'kb', topic: '/flowrouter/kb/1', syncProtocol: '/flowrouter/kb-sync/1.0.0', proofDomain: 'kb-op' };
export const KEYS_CHANNEL: LogChannel = { name: 'keys', topic: '/flowrouter/keys/1', syncProtocol: '/flowrouter/keys-sync/1.0.0', proofDomain: 'keys-op' };
