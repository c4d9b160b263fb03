// The CPU-heavy part of a knowledge write, as pure functions: a document becomes the payload a put stores (chunks, hash,
// JSON, digest), and an op off the wire is parsed, validated and digested. Large documents run this in a worker.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../cache/key.ts';
import { ClientError } from '../core/errors.ts';
import { chunkText } from './chunk.ts';
import type { ChunkSpan } from './chunk.ts';
import { packChunks, type PackedChunks } from './chunk-list.ts';
import { DEFAULT_COLLECTION, sha256, stableDocId, validateCollection, validateDocId } from './ids.ts';
import { MAX_DOCUMENT_BYTES, MAX_OP_PAYLOAD_BYTES, parseOp } from './ops.ts';
import type { DeletePayload, KnowledgeOp, PutPayload } from './ops.ts';
import type { OpHeader as LogOpHeader } from '../oplog/index.ts';
import type { DocumentInput } from './store.ts';

/** A document's text above this is prepared and indexed in the background: the size at which sync sends pieces. */
export const LARGE_TEXT = 256 * 1024;

/** A put's payload fields other than its text and chunks. */
export type PutFields = Omit<PutPayload, 'text' | 'chunks'>;

export interface PreparedPut {
  id: string;
  fields: PutFields;
  text: string;
  /**
   * Prepared as a large document (packed chunks, stored JSON as bytes, digest): its text is stored once, in its op, and
   * its chunks are indexed in the background.
   */
  large: boolean;
  chunks: readonly ChunkSpan[] | PackedChunks;
  /** The payload's JSON as stored and sent (UTF-8 bytes when it came from a worker: no string copy). */
  stored: string | Uint8Array;
  /** sha-256 hex of the payload's canonical JSON (what the origin's proof signs), when computed. */
  digest: string | null;
}

export type OpHeader = LogOpHeader<KnowledgeOp>;

/** An op from the wire, parsed and validated, its content ready for the store. */
export interface DecodedOp {
  header: OpHeader;
  proof: unknown;
  /** A put's content; null for a delete or a content-less op. */
  put: PreparedPut | null;
  /** A delete's payload; null for a put or a content-less op. */
  del: DeletePayload | null;
  /** The payload's digest; null for a content-less op. */
  digest: string | null;
}

const encoder = new TextEncoder();

export function payloadDigest(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

/** Validates a document and builds its payload (`now` is its updatedAt); with `large`, its JSON and digest too. */
export function preparePut(d: DocumentInput, now: number, large = false): PreparedPut {
  if (typeof d.text !== 'string') throw new ClientError('Document text must be a string', { param: 'text' });
  const bytes = Buffer.byteLength(d.text);
  if (bytes > MAX_DOCUMENT_BYTES) {
    const name = d.source || d.id;
    throw new ClientError(
      `Document${name ? ` ${name}` : ''} has ${(bytes / 1048576).toFixed(1)} MiB of text; the limit is ${MAX_DOCUMENT_BYTES / 1048576} MiB: split it`,
      { status: 413, param: 'text', code: 'document_too_large' },
    );
  }
  const collection = validateCollection(d.collection ?? DEFAULT_COLLECTION);
  const source = d.source ?? '';
  const id = d.id !== undefined ? validateDocId(d.id) : stableDocId(collection, source || `text-${sha256(d.text).slice(0, 16)}`);
  const tags = [...new Set((d.tags ?? []).map((t) => String(t).trim()).filter(Boolean))].sort();
  const chunks = d.chunks ?? chunkText(d.text);
  if (chunks.some((c) => c.end <= c.start || c.end > d.text.length)) throw new ClientError('Chunk span outside the document text');
  const fields: PutFields = { collection, source, title: d.title || source || id, tags, meta: d.meta ?? {}, hash: sha256(d.text), updatedAt: now };
  const payload: PutPayload = { ...fields, text: d.text, chunks };
  const stored = JSON.stringify(payload);
  if (Buffer.byteLength(stored) > MAX_OP_PAYLOAD_BYTES) {
    throw new ClientError(`Document ${id} takes more than ${MAX_OP_PAYLOAD_BYTES / 1048576} MiB once encoded: split it`, {
      status: 413,
      code: 'document_too_large',
    });
  }
  if (!large) return { id, fields, text: d.text, large, chunks, stored, digest: null };
  return { id, fields, text: d.text, large, chunks: packChunks(chunks), stored: encoder.encode(stored), digest: payloadDigest(payload) };
}

/** Parses `{"op":…,"proof":…}` as sync sends one op; throws a ClientError when it is malformed. */
export function decodeOp(bytes: Uint8Array): DecodedOp {
  let wire: { op?: unknown; proof?: unknown };
  try {
    wire = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as typeof wire;
  } catch {
    throw new ClientError('Malformed knowledge op: not JSON', { code: 'invalid_op' });
  }
  if (typeof wire !== 'object' || wire === null) throw new ClientError('Malformed knowledge op: not an object', { code: 'invalid_op' });
  const op = parseOp(wire.op);
  validateDocId(op.docId, 'docId');
  const header: OpHeader = { origin: op.origin, seq: op.seq, hlc: op.hlc, docId: op.docId, kind: op.kind };
  if (op.payload === null) return { header, proof: wire.proof, put: null, del: null, digest: null };
  const digest = payloadDigest(op.payload);
  if (op.kind === 'delete') return { header, proof: wire.proof, put: null, del: op.payload as DeletePayload, digest };
  const { text, chunks, ...fields } = op.payload as PutPayload;
  const put: PreparedPut = {
    id: op.docId,
    fields,
    text,
    large: true,
    chunks: packChunks(chunks),
    stored: encoder.encode(JSON.stringify(op.payload)),
    digest,
  };
  return { header, proof: wire.proof, put, del: null, digest };
}

/** The digest of a payload stored as JSON (a local op written by another process, signed late). */
export function storedDigest(stored: Uint8Array): string {
  return payloadDigest(JSON.parse(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('utf8')));
}
