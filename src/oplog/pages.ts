// Reads an op log for replication in pages bounded by count and by bytes, payloads left as stored (JSON text, or its
// UTF-8 bytes when large: no string is made of a large payload, the sync and the worker take bytes).
import type { Db } from '../core/database.ts';
import type { LogOp, OpTables, VersionVector } from './types.ts';

/** An op with the proof of origin its replicator attached (null until one is attached). */
export interface ProvenOp<O extends LogOp = LogOp> {
  op: O;
  proof: string | null;
}

/** An op row as stored: the payload is its JSON (null once compaction dropped it), the proof as attached. */
export interface StoredOp {
  origin: string;
  seq: number;
  hlc: string;
  docId: string;
  kind: string;
  payload: string | Buffer | null;
  proof: string | null;
}

export interface OpPageLimits {
  /** At most this many ops. */
  ops: number;
  /** Stop once the payloads read reach this many characters (the op that crosses it is included). */
  bytes: number;
}

/** Payloads bigger than this (bytes) are read as bytes. */
const LARGE_PAYLOAD = 256 * 1024;

interface Row {
  origin: string;
  seq: number;
  hlc: string;
  doc_id: string;
  kind: string;
  payload: string | Buffer | null;
  proof: string | null;
}

/** An op row's proof: from the row or, for a log that keeps proofs attached later beside it, from that table. */
function proofColumn(tables: OpTables): string {
  return tables.proofs ? `COALESCE(o.proof, (SELECT p.proof FROM ${tables.proofs} p WHERE p.origin = o.origin AND p.seq = o.seq))` : 'o.proof';
}

const toStored = (r: Row): StoredOp => ({ origin: r.origin, seq: r.seq, hlc: r.hlc, docId: r.doc_id, kind: r.kind, payload: r.payload, proof: r.proof });

/** The prepared reads of one log. */
export class OpPages<O extends LogOp = LogOp> {
  #origins;
  #stored;
  #parsed;

  constructor(db: Db, tables: OpTables) {
    const proof = proofColumn(tables);
    this.#origins = db.prepare<[], string>(`SELECT origin FROM ${tables.version} ORDER BY origin`).pluck();
    this.#stored = db.prepare<[string, number], Row>(`SELECT o.origin, o.seq, o.hlc, o.doc_id, o.kind,
      CASE WHEN octet_length(o.payload) > ${LARGE_PAYLOAD} THEN CAST(o.payload AS BLOB) ELSE o.payload END AS payload, ${proof} AS proof
      FROM ${tables.ops} o WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq`);
    this.#parsed = db.prepare<[string, number, number], Row>(
      `SELECT o.origin, o.seq, o.hlc, o.doc_id, o.kind, o.payload, ${proof} AS proof FROM ${tables.ops} o WHERE o.origin = ? AND o.seq > ? ORDER BY o.seq LIMIT ?`,
    );
  }

  /**
   * Ops the holder of `since` lacks, per origin in sequence order. Rows are read one at a time, so a page of large
   * documents never holds more than `bytes` plus one document in memory.
   */
  storedSince(since: VersionVector, limits: OpPageLimits): StoredOp[] {
    const page = { ops: [] as StoredOp[], bytes: 0 };
    for (const origin of this.#origins.all()) {
      if (this.#read(origin, since[origin] ?? 0, limits, page)) break;
    }
    return page.ops;
  }

  /** One origin's ops after `after`, in sequence order, bounded like `storedSince` (the node publishing its own). */
  storedOf(origin: string, after: number, limits: OpPageLimits): StoredOp[] {
    const page = { ops: [] as StoredOp[], bytes: 0 };
    this.#read(origin, after, limits, page);
    return page.ops;
  }

  /** Ops the holder of `since` has not seen, parsed, with their proofs: per origin in sequence order, at most `limit`. */
  provenSince(since: VersionVector, limit: number): ProvenOp<O>[] {
    const out: ProvenOp<O>[] = [];
    for (const origin of this.#origins.all()) {
      if (out.length >= limit) break;
      for (const r of this.#parsed.all(origin, since[origin] ?? 0, limit - out.length)) {
        const payload = r.payload === null ? null : JSON.parse(String(r.payload));
        out.push({ op: { origin: r.origin, seq: r.seq, hlc: r.hlc, docId: r.doc_id, kind: r.kind, payload } as O, proof: r.proof });
      }
    }
    return out;
  }

  // Adds one origin's rows to the page; true once a limit is reached (leaving the loop ends the statement's iterator).
  #read(origin: string, after: number, limits: OpPageLimits, page: { ops: StoredOp[]; bytes: number }): boolean {
    for (const r of this.#stored.iterate(origin, after)) {
      page.ops.push(toStored(r));
      page.bytes += r.payload?.length ?? 0;
      if (page.ops.length >= limits.ops || page.bytes >= limits.bytes) return true;
    }
    return false;
  }
}
