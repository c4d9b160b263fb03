// One replicated op log in SQLite: local ops get the next sequence number and a fresh HLC, remote ops are stored once
// and fill their origin's version; what replication reads (pages, vectors, proofs) and who hears about local ops.
import type { Db } from '../core/database.ts';
import { HybridClock } from './hlc.ts';
import { OpPages, type OpPageLimits, type ProvenOp, type StoredOp } from './pages.ts';
import type { LocalOpInfo, LogOp, OpHeader, OpTables, VersionVector } from './types.ts';

export type LocalOpListener<O extends LogOp = LogOp> = (op: O, info: LocalOpInfo) => void;

export interface OpLogOptions {
  now?: () => number;
  /** A remote HLC further ahead of local time than this is refused (clock_skew). */
  maxDriftMs?: number;
}

/** A payload's stored JSON: text, or UTF-8 bytes (a large one), which SQLite turns into TEXT without a string in between. */
export type StoredPayload = string | Uint8Array;

const bindable = (value: StoredPayload | null): string | Buffer | null =>
  value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;

export class OpLog<O extends LogOp = LogOp> {
  readonly db: Db;
  readonly tables: OpTables;
  readonly origin: string;
  readonly clock: HybridClock;
  readonly #pages: OpPages<O>;
  #insert;
  #has;
  #version;
  #setVersion;
  #latestDocHlc;
  #origins;
  #setProof;
  #listeners = new Set<LocalOpListener<O>>();
  /** Local ops of the write in progress, announced once it has committed. */
  #pending: { op: O; info: LocalOpInfo }[] = [];

  constructor(db: Db, tables: OpTables, origin: string, opts: OpLogOptions = {}) {
    this.db = db;
    this.tables = tables;
    this.origin = origin;
    const { ops, version, proofs } = tables;
    const last = db.prepare<[], { hlc: string | null }>(`SELECT max(hlc) AS hlc FROM ${ops}`).get()?.hlc ?? null;
    this.clock = new HybridClock(origin, { now: opts.now, maxDriftMs: opts.maxDriftMs, last });
    this.#pages = new OpPages<O>(db, tables);
    this.#insert = db.prepare(`INSERT INTO ${ops} (origin, seq, hlc, doc_id, kind, payload, proof) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT), ?)`);
    this.#has = db.prepare<[string, number], number>(`SELECT 1 FROM ${ops} WHERE origin = ? AND seq = ?`).pluck();
    this.#version = db.prepare<[string], number>(`SELECT max_seq FROM ${version} WHERE origin = ?`).pluck();
    this.#setVersion = db.prepare(`INSERT INTO ${version} (origin, max_seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET max_seq = excluded.max_seq`);
    this.#latestDocHlc = db.prepare<[string], string | null>(`SELECT max(hlc) FROM ${ops} WHERE doc_id = ?`).pluck();
    this.#origins = db.prepare<[], { origin: string; max_seq: number }>(`SELECT origin, max_seq FROM ${version} ORDER BY origin`);
    this.#setProof = proofs
      ? db.prepare(`INSERT OR REPLACE INTO ${proofs} (proof, origin, seq) VALUES (?, ?, ?)`)
      : db.prepare(`UPDATE ${ops} SET proof = ? WHERE origin = ? AND seq = ?`);
  }

  /** Calls `listener` with every local op once its write has committed (the replicator publishes them). */
  onLocalOp(listener: LocalOpListener<O>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Runs a write that appends local ops, in an IMMEDIATE transaction (another process — the CLI — may be writing the
   * same log: taking the write lock first means the next sequence number read is still the next one at commit), then
   * announces its ops. A listener that throws must not undo a committed write, so its error is dropped.
   */
  write<T>(body: () => T): T {
    let result: T;
    try {
      result = this.db.transaction(body).immediate();
    } catch (err) {
      this.#pending = [];
      throw err;
    }
    const ops = this.#pending;
    this.#pending = [];
    for (const { op, info } of ops)
      for (const l of this.#listeners) {
        try {
          l(op, info);
        } catch {
          /* see above */
        }
      }
    return result;
  }

  /**
   * Appends a local op (inside `write`): the next sequence number, and an HLC later than any op held for the record, so
   * a write made here always wins over one another process made a moment earlier. `stored` is the payload's JSON. A
   * large payload is announced without its content (`payload: null`, see LocalOpInfo), with its digest when known.
   */
  append(
    docId: string,
    kind: O['kind'],
    payload: NonNullable<O['payload']> | null,
    stored: StoredPayload = JSON.stringify(payload),
    digest: string | null = null,
  ): O {
    const latest = this.#latestDocHlc.get(docId);
    if (latest) this.clock.witness(latest);
    const seq = (this.#version.get(this.origin) ?? 0) + 1;
    const op = { origin: this.origin, seq, hlc: this.clock.tick(), docId, kind, payload } as O;
    this.#insert.run(op.origin, op.seq, op.hlc, op.docId, op.kind, bindable(stored), null);
    this.#setVersion.run(this.origin, seq);
    const bytes = typeof stored === 'string' ? Buffer.byteLength(stored) : stored.byteLength;
    this.#pending.push({ op, info: { bytes, digest } });
    return op;
  }

  /**
   * Stores an op from another node (inside the caller's transaction) with its payload's JSON; false when it is already
   * held. Its clock is merged first, so an op from a node whose clock is far ahead is refused (clock_skew) before
   * anything is written.
   */
  insertRemote(op: OpHeader<O>, stored: StoredPayload | null, proof: string | null): boolean {
    if (this.#has.get(op.origin, op.seq)) return false;
    this.clock.receive(op.hlc);
    this.#insert.run(op.origin, op.seq, op.hlc, op.docId, op.kind, bindable(stored), proof);
    let seq = this.#version.get(op.origin) ?? 0;
    while (this.#has.get(op.origin, seq + 1)) seq++;
    this.#setVersion.run(op.origin, seq);
    return true;
  }

  /** The newest HLC of any op held for the record (superseded and compacted ops included), or null. */
  latestHlc(docId: string): string | null {
    return this.#latestDocHlc.get(docId) ?? null;
  }

  versionVector(): VersionVector {
    return Object.fromEntries(this.#origins.all().map((r) => [r.origin, r.max_seq]));
  }

  /** Ops the holder of `since` has not seen, per origin in sequence order, at most `limit`, with their stored proofs. */
  provenOpsSince(since: VersionVector, limit = 1000): ProvenOp<O>[] {
    return this.#pages.provenSince(since, limit);
  }

  /** Ops the holder of `since` lacks as stored (payload JSON), in pages bounded by count and bytes: what sync sends. */
  storedOpsSince(since: VersionVector, limits: OpPageLimits): StoredOp[] {
    return this.#pages.storedSince(since, limits);
  }

  /** The highest sequence number of this node's own ops (0 before the first); another process may have written it. */
  localSeq(): number {
    return this.#version.get(this.origin) ?? 0;
  }

  /** This node's own ops after `seq` as stored, in pages bounded by count and bytes, in order. */
  localOpsAfter(seq: number, limits: OpPageLimits): StoredOp[] {
    return this.#pages.storedOf(this.origin, seq, limits);
  }

  /** Attaches a proof of origin to a stored op (the replicator signs local ops after they are written). */
  setOpProof(origin: string, seq: number, proof: string): void {
    this.#setProof.run(proof, origin, seq);
  }
}
