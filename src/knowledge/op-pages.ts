// Reads the op log for replication in pages bounded by count and by bytes, payloads left as the stored JSON text.
import type { Db } from '../core/database.ts';
import type { KnowledgeOp, VersionVector } from './ops.ts';

/** An op with the proof of origin its replicator attached (null until one is attached). */
export interface ProvenOp { op: KnowledgeOp; proof: string | null }

/**
 * An op row as stored: the payload is its JSON text (null once compaction dropped it), as UTF-8 bytes when it is
 * large (no string is made of it: the sync and the worker take bytes); the proof as attached.
 */
export interface StoredOp {
  origin: string;
  seq: number;
  hlc: string;
  docId: string;
  kind: 'put' | 'delete';
  payload: string | Buffer | null;
  proof: string | null;
}

/** Payloads bigger than this (bytes) are read as bytes. */
const LARGE_PAYLOAD = 256 * 1024;

/** An op row's columns, the proof from the row or, when attached later, from kb_op_proofs. */
export const OP_COLUMNS = `o.origin, o.seq, o.hlc, o.doc_id, o.kind,
  CASE WHEN octet_length(o.payload) > ${LARGE_PAYLOAD} THEN CAST(o.payload AS BLOB) ELSE o.payload END AS payload,
  COALESCE(o.proof, (SELECT p.proof FROM kb_op_proofs p WHERE p.origin = o.origin AND p.seq = o.seq)) AS proof`;

type Row = { origin: string; seq: number; hlc: string; doc_id: string; kind: 'put' | 'delete'; payload: string | Buffer | null; proof: string | null };
const toStored = (r: Row): StoredOp => ({ origin: r.origin, seq: r.seq, hlc: r.hlc, docId: r.doc_id, kind: r.kind, payload: r.payload, proof: r.proof });

export interface OpPageLimits {
  /** At most this many ops. */
  ops: number;
  /** Stop once the payloads read reach this many characters (the op that crosses it is included). */
  bytes: number;
}

/**
 * Ops the holder of `since` lacks, per origin in sequence order. Rows are read one at a time, so a page of large
 * documents never holds more than `bytes` plus one document in memory.
 */
export function storedOpsSince(db: Db, since: VersionVector, limits: OpPageLimits): StoredOp[] {
  const origins = db.prepare<[], { origin: string }>('SELECT origin FROM kb_version ORDER BY origin').all();
  const rows = db.prepare<[string, number], Row>(`SELECT ${OP_COLUMNS} FROM kb_ops o WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq`);
  const out: StoredOp[] = [];
  let bytes = 0;
  for (const { origin } of origins) {
    for (const r of rows.iterate(origin, since[origin] ?? 0)) {
      out.push(toStored(r));
      bytes += r.payload?.length ?? 0;
      // Leaving the loop early ends the statement's iterator (better-sqlite3 resets it).
      if (out.length >= limits.ops || bytes >= limits.bytes) return out;
    }
  }
  return out;
}

/** One origin's ops after `after`, in sequence order, bounded like `storedOpsSince` (the node publishing its own). */
export function storedOpsOf(db: Db, origin: string, after: number, limits: OpPageLimits): StoredOp[] {
  const rows = db.prepare<[string, number], Row>(`SELECT ${OP_COLUMNS} FROM kb_ops o WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq`);
  const out: StoredOp[] = [];
  let bytes = 0;
  for (const r of rows.iterate(origin, after)) {
    out.push(toStored(r));
    bytes += r.payload?.length ?? 0;
    if (out.length >= limits.ops || bytes >= limits.bytes) break;
  }
  return out;
}

/** Ops the holder of `since` has not seen, parsed, with their proofs: per origin in sequence order, at most `limit`. */
export function provenOpsSince(db: Db, since: VersionVector, limit: number): ProvenOp[] {
  const origins = db.prepare<[], { origin: string }>('SELECT origin FROM kb_version ORDER BY origin').all();
  const rows = db.prepare<[string, number, number], Omit<Row, 'payload'> & { payload: string | null }>(
    `SELECT o.origin, o.seq, o.hlc, o.doc_id, o.kind, o.payload,
       COALESCE(o.proof, (SELECT p.proof FROM kb_op_proofs p WHERE p.origin = o.origin AND p.seq = o.seq)) AS proof
     FROM kb_ops o WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq LIMIT ?`);
  const out: ProvenOp[] = [];
  for (const { origin } of origins) {
    if (out.length >= limit) break;
    for (const r of rows.all(origin, since[origin] ?? 0, limit - out.length)) {
      const op: KnowledgeOp = { origin: r.origin, seq: r.seq, hlc: r.hlc, docId: r.doc_id, kind: r.kind, payload: r.payload === null ? null : JSON.parse(r.payload) };
      out.push({ op, proof: r.proof });
    }
  }
  return out;
}
