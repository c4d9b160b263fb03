// The shapes every replicated op log shares: an op, the tables that hold one log, and a version vector.

/** Highest contiguous sequence number seen from each origin. */
export type VersionVector = Record<string, number>;

/** One change, self-contained and JSON-serialisable, as an origin wrote it: the unit every log replicates. */
export interface LogOp<K extends string = string, P = unknown> {
  origin: string;
  seq: number;
  hlc: string;
  /** The record the op changes (a document id, a key id). */
  docId: string;
  kind: K;
  /** Null once compaction has dropped a superseded op's content: the op still fills its place in the sequence. */
  payload: P | null;
}

/** An op without its payload: what its proof signs besides the payload's digest. */
export type OpHeader<O extends LogOp = LogOp> = Omit<O, 'payload'>;

/**
 * What a local op's publisher is told besides the op: the size of its stored payload, and its digest when it was
 * computed off the main thread. A large op comes without its payload (`payload: null`): it travels by sync only.
 */
export interface LocalOpInfo {
  bytes: number;
  digest: string | null;
}

/**
 * The two tables of one log: `ops(origin, seq, hlc, doc_id, kind, payload, proof)` with PRIMARY KEY (origin, seq), and
 * `version(origin, max_seq)`. Names come from code, never from input.
 */
export interface OpTables {
  ops: string;
  version: string;
  /**
   * `proofs(origin, seq, proof)`, for a log with large payloads: a proof attached after its op was written is kept
   * beside it (setting a column of an op row rewrites the whole row, payload included). Without it, in the op row.
   */
  proofs?: string;
}

/** The tables of a log named `prefix` (`kb` → kb_ops, kb_version), as its migration creates them. */
export function opTableSql(tables: OpTables, opts: { kinds: readonly string[] }): string {
  return `
    -- A rowid table, not WITHOUT ROWID: payloads may hold whole documents, and big rows belong outside the key B-tree.
    CREATE TABLE ${tables.ops} (
      origin TEXT NOT NULL,
      seq INTEGER NOT NULL,
      hlc TEXT NOT NULL,
      doc_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN (${opts.kinds.map((k) => `'${k}'`).join(', ')})),
      payload TEXT,
      proof TEXT,
      PRIMARY KEY (origin, seq)
    );
    CREATE INDEX ${tables.ops}_doc ON ${tables.ops}(doc_id, hlc);
    CREATE TABLE ${tables.version} (origin TEXT PRIMARY KEY, max_seq INTEGER NOT NULL) WITHOUT ROWID;`;
}
