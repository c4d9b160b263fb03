// Reads an op log for replication in pages bounded by count and by bytes, payloads left as the stored JSON text.
import type { Db } from '../core/database.ts';
import type { OpTables, VersionVector } from './types.ts';

/** An op row as stored: the payload is its JSON text (null once compaction dropped it), the proof as attached. */
export interface StoredOp {
  origin: string;
  seq: number;
  hlc: string;
  docId: string;
  kind: string;
  payload: string | null;
  proof: string | null;
}

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
export function storedOpsSince(db: Db, tables: OpTables, since: VersionVector, limits: OpPageLimits): StoredOp[] {
  const origins = db.prepare<[], { origin: string }>(`SELECT origin FROM ${tables.version} ORDER BY origin`).all();
  const rows = db.prepare<[string, number], { origin: string; seq: number; hlc: string; doc_id: string; kind: string; payload: string | null; proof: string | null }>(
    `SELECT origin, seq, hlc, doc_id, kind, payload, proof FROM ${tables.ops} WHERE origin = ? AND seq > ? ORDER BY seq`);
  const out: StoredOp[] = [];
  let bytes = 0;
  for (const { origin } of origins) {
    for (const r of rows.iterate(origin, since[origin] ?? 0)) {
      out.push({ origin: r.origin, seq: r.seq, hlc: r.hlc, docId: r.doc_id, kind: r.kind, payload: r.payload, proof: r.proof });
      bytes += r.payload?.length ?? 0;
      // Leaving the loop early ends the statement's iterator (better-sqlite3 resets it).
      if (out.length >= limits.ops || bytes >= limits.bytes) return out;
    }
  }
  return out;
}
