// The knowledge store: every local change is an op in the log (next seq, new HLC) applied last-writer-wins, as remote ops are.
import type { Db } from '../core/database.ts';
import { migrate } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import type { ChunkSpan } from './chunk.ts';
import { listOf } from './chunk-list.ts';
import { compactTombstones } from './compaction.ts';
import { compareHlc, HybridClock } from './hlc.ts';
import { validateDocId } from './ids.ts';
import { Indexer } from './indexer.ts';
import { Materializer } from './materialize.ts';
import type { DocRow, IndexSource } from './materialize.ts';
import { Offload } from './offload.ts';
import { CheckpointAside } from './checkpoint-aside.ts';
import { parseOp } from './ops.ts';
import type { DeletePayload, KnowledgeOp, PutPayload, VersionVector } from './ops.ts';
import { LARGE_TEXT, preparePut } from './prepare.ts';
import type { DecodedOp, OpHeader, PreparedPut } from './prepare.ts';
import { provenOpsSince, storedOpsOf, storedOpsSince } from './op-pages.ts';
import type { OpPageLimits, ProvenOp, StoredOp } from './op-pages.ts';
import { knowledgeMigrations } from './schema.ts';
import { listDocuments, readDocument, readStats } from './reads.ts';
import type { DocumentFilter, KnowledgeStats, StoredDocument } from './reads.ts';
import { searchKnowledge } from './search.ts';
import type { SearchOptions, SearchResult } from './search.ts';

export interface DocumentInput {
  id?: string;
  collection?: string;
  source?: string;
  title?: string;
  tags?: string[];
  meta?: Record<string, unknown>;
  text: string;
  /** Chunks from an ingester that knows the format; plain paragraph chunking otherwise. */
  chunks?: ChunkSpan[];
}

export interface PutResult { id: string; status: 'created' | 'updated' | 'unchanged'; chunks: number }
export type ApplyResult = 'applied' | 'stale' | 'duplicate';
/**
 * What a local op's publisher is told besides the op: the size of its stored payload, and its digest when it was
 * computed off the main thread. A large op comes without its payload (`payload: null`): it travels by sync only.
 */
export interface LocalOpInfo { bytes: number; digest: string | null }
export type LocalOpListener = (op: KnowledgeOp, info: LocalOpInfo) => void;

/** A put's or delete's content as the store writes it: the payload's stored JSON and what materializing needs. */
type Content =
  | { kind: 'put'; put: PreparedPut }
  | { kind: 'delete'; payload: DeletePayload; stored: string }
  | null;

/** Large payload JSON arrives as UTF-8 bytes; SQLite turns them into TEXT without a JavaScript string in between. */
const bindable = (value: string | Uint8Array | null): string | Buffer | null =>
  value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;

export class KnowledgeStore {
  readonly db: Db;
  readonly origin: string;
  readonly clock: HybridClock;
  #now: () => number;
  #m: Materializer;
  #indexer: Indexer;
  #offload: Offload | null = null;
  #checkpoints: CheckpointAside;
  #insertOp;
  #hasOp;
  #version;
  #setVersion;
  #latestDocHlc;
  #origins;
  #setProof;
  #listeners = new Set<LocalOpListener>();
  /** Local ops of the transaction in progress, announced once it commits. */
  #pending: { op: KnowledgeOp; info: LocalOpInfo }[] = [];

  constructor(db: Db, origin: string, opts: { now?: () => number; maxDriftMs?: number } = {}) {
    if (!origin || /\s/.test(origin)) throw new ClientError('Knowledge store origin id must be a non-empty string without spaces');
    migrate(db, knowledgeMigrations);
    this.db = db;
    this.origin = origin;
    this.#now = opts.now ?? Date.now;
    const last = db.prepare<[], { hlc: string | null }>('SELECT max(hlc) AS hlc FROM kb_ops').get()?.hlc ?? null;
    this.clock = new HybridClock(origin, { now: this.#now, maxDriftMs: opts.maxDriftMs, last });
    this.#m = new Materializer(db);
    this.#indexer = new Indexer(db);
    this.#checkpoints = new CheckpointAside(db, () => this.offload);
    // A job a crash left is resumed in the background.
    if (this.#indexer.pending()) this.#indexer.schedule();
    this.#insertOp = db.prepare('INSERT INTO kb_ops (origin, seq, hlc, doc_id, kind, payload, proof) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT), ?)');
    this.#hasOp = db.prepare<[string, number], { 1: number }>('SELECT 1 FROM kb_ops WHERE origin = ? AND seq = ?').pluck();
    this.#version = db.prepare<[string], number>('SELECT max_seq FROM kb_version WHERE origin = ?').pluck();
    this.#setVersion = db.prepare(
      'INSERT INTO kb_version (origin, max_seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET max_seq = excluded.max_seq');
    this.#latestDocHlc = db.prepare<[string], string | null>('SELECT max(hlc) FROM kb_ops WHERE doc_id = ?').pluck();
    this.#origins = db.prepare<[], { origin: string; max_seq: number }>('SELECT origin, max_seq FROM kb_version ORDER BY origin');
    this.#setProof = db.prepare('INSERT OR REPLACE INTO kb_op_proofs (proof, origin, seq) VALUES (?, ?, ?)');
  }

  /** Calls `listener` with every local op once its transaction has committed (the replicator publishes them). */
  onLocalOp(listener: LocalOpListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Indexes large documents in the background (and those another process left), until `stop`. */
  start(): void {
    this.#indexer.start();
  }

  /** Stops background indexing and the worker; a job not finished is resumed by the next start. */
  async stop(): Promise<void> {
    this.#indexer.stop();
    await this.#offload?.close();
    this.#offload = null;
  }

  /** The worker thread that prepares large documents (started on first use, ended by `stop`). */
  get offload(): Offload {
    return (this.#offload ??= new Offload());
  }

  /** Whether some document's chunks are still being written (it is not searchable yet). */
  indexing(): boolean {
    return this.#indexer.pending();
  }

  /** Resolves once every document is searchable. */
  indexed(): Promise<void> {
    return this.#indexer.idle();
  }

  /**
   * Finishes what would run in the background, blocking: every pending chunk is written and the write-ahead log
   * copied into the database. For a command that exits next (`flowrouter kb`), so that a node running beside it on
   * the same database does not pay for either on its event loop.
   */
  settle(): void {
    this.#indexer.finish();
    if (!this.db.memory) this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  put(doc: DocumentInput): PutResult {
    return this.putMany([doc])[0];
  }

  /** Writes many documents in one transaction (the fast path for ingestion); identical re-adds record nothing. */
  putMany(docs: readonly DocumentInput[]): PutResult[] {
    const now = this.#now();
    // A large document is prepared here as the worker would (digest included): it is published and indexed alike.
    return this.writePrepared(docs.map((d) => preparePut(d, now, typeof d.text === 'string' && d.text.length > LARGE_TEXT)));
  }

  /**
   * Writes documents already prepared (`preparePut`, maybe in the worker), in one transaction. A large one's chunks
   * are indexed afterwards in slices: it is stored and replicated at once, and searchable once indexed.
   */
  writePrepared(prepared: readonly PreparedPut[]): PutResult[] {
    return this.#announcing(() => this.#checkpoints.around(prepared.some((p) => p.large), () => this.db.transaction(() => prepared.map((p): PutResult => {
      const existing = this.#m.doc(p.id);
      const live = existing !== undefined && !existing.deleted;
      if (live && sameContent(existing, p)) return { id: p.id, status: 'unchanged', chunks: this.#m.chunkCount(existing.num) };
      this.#local(p.id, { kind: 'put', put: p });
      return { id: p.id, status: live ? 'updated' : 'created', chunks: listOf(p.chunks).length };
    }))()));
  }

  /** Deletes (tombstones) a document; false when there is no live document with that id. */
  remove(id: string): boolean {
    validateDocId(id);
    return this.#announcing(() => this.db.transaction(() => {
      const existing = this.#m.doc(id);
      if (!existing || existing.deleted) return false;
      const payload = { collection: existing.collection, source: existing.source };
      this.#local(id, { kind: 'delete', payload, stored: JSON.stringify(payload) });
      return true;
    })());
  }

  /** Applies an op from another node, keeping its proof of origin; safe to repeat and to receive out of order. */
  applyRemote(input: unknown, proof: string | null = null): ApplyResult {
    const op = parseOp(input);
    validateDocId(op.docId, 'docId');
    const { payload, ...header } = op;
    let content: Content = null;
    if (payload !== null && op.kind === 'put') {
      const { text, chunks, ...fields } = payload as PutPayload;
      content = { kind: 'put', put: { id: op.docId, fields, text, large: false, chunks, stored: JSON.stringify(payload), digest: null } };
    } else if (payload !== null) {
      content = { kind: 'delete', payload: payload as DeletePayload, stored: JSON.stringify(payload) };
    }
    return this.#apply(header, content, proof);
  }

  /** Applies an op parsed and validated off the main thread (`decodeOp`), whose proof the caller has checked. */
  applyDecoded(d: DecodedOp, proof: string): ApplyResult {
    const content: Content = d.put ? { kind: 'put', put: d.put } : d.del ? { kind: 'delete', payload: d.del, stored: JSON.stringify(d.del) } : null;
    return this.#checkpoints.around(d.put?.large === true, () => this.#apply(d.header, content, proof));
  }

  #apply(op: OpHeader, content: Content, proof: string | null): ApplyResult {
    const stored = content === null ? null : content.kind === 'put' ? content.put.stored : content.stored;
    return this.db.transaction((): ApplyResult => {
      if (this.#hasOp.get(op.origin, op.seq)) return 'duplicate';
      this.clock.receive(op.hlc);
      const existing = this.#m.doc(op.docId);
      const current = existing?.hlc ?? this.#latestDocHlc.get(op.docId) ?? null;
      this.#insertOp.run(op.origin, op.seq, op.hlc, op.docId, op.kind, bindable(stored), proof);
      let seq = this.#version.get(op.origin) ?? 0;
      while (this.#hasOp.get(op.origin, seq + 1)) seq++;
      this.#setVersion.run(op.origin, seq);
      if (content === null) return 'stale';
      const cmp = current === null ? 1 : compareHlc(op.hlc, current);
      // Equal HLCs mean the same writer and instant; a delete then wins so a removal is never undone.
      const wins = cmp > 0 || (cmp === 0 && op.kind === 'delete' && !existing?.deleted);
      if (!wins) return 'stale';
      this.#materialize(op, content);
      return 'applied';
    })();
  }

  /** The newest HLC of any op held for the document (tombstones and compacted ops included), or null. */
  latestHlc(docId: string): string | null {
    return this.#latestDocHlc.get(docId) ?? null;
  }

  versionVector(): VersionVector {
    return Object.fromEntries(this.#origins.all().map((r) => [r.origin, r.max_seq]));
  }

  /** Ops the holder of `since` has not seen, per origin in sequence order, at most `limit`; page by asking again. */
  opsSince(since: VersionVector, limit = 1000): KnowledgeOp[] {
    return this.provenOpsSince(since, limit).map((p) => p.op);
  }

  /** `opsSince` with each op's stored proof of origin. */
  provenOpsSince(since: VersionVector, limit = 1000): ProvenOp[] {
    return provenOpsSince(this.db, since, limit);
  }

  /** Ops the holder of `since` lacks as stored (payload JSON text), in pages bounded by count and bytes: what sync sends. */
  storedOpsSince(since: VersionVector, limits: OpPageLimits): StoredOp[] {
    return storedOpsSince(this.db, since, limits);
  }

  /** The highest sequence number of this node's own ops (0 before the first); another process may have written it. */
  localSeq(): number {
    return this.#version.get(this.origin) ?? 0;
  }

  /** This node's own ops after `seq` as stored, in pages bounded by count and bytes, in order. */
  localOpsAfter(seq: number, limits: OpPageLimits): StoredOp[] {
    return storedOpsOf(this.db, this.origin, seq, limits);
  }

  /** Attaches a proof of origin to a stored op (the replicator signs local ops after they are written). */
  setOpProof(origin: string, seq: number, proof: string): void {
    this.#setProof.run(proof, origin, seq);
  }

  /**
   * Forgets tombstones older than the horizon that every given peer vector covers, and drops the content of superseded
   * ops (the op rows stay, so sequences have no gaps). A node away longer than the horizon needs a snapshot.
   */
  compactTombstones(horizonMs: number, peersVectors: readonly VersionVector[] = []): { tombstones: number; ops: number } {
    return compactTombstones(this.db, this.#now() - horizonMs, peersVectors);
  }

  get(id: string): StoredDocument | null {
    return readDocument(this.db, validateDocId(id));
  }

  list(filter: DocumentFilter = {}): StoredDocument[] {
    return listDocuments(this.db, filter);
  }

  search(query: string, opts: SearchOptions = {}): SearchResult[] {
    return searchKnowledge(this.db, query, opts);
  }

  stats(): KnowledgeStats {
    return readStats(this.db);
  }

  /** Recomputes the FTS index from the chunk rows (it is derived data, never replicated). */
  rebuildIndex(): void {
    // An index job removes old chunks with the exact values they were indexed under: finished first.
    this.#indexer.finish();
    this.db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('rebuild');");
  }

  #local(docId: string, content: NonNullable<Content>): void {
    const seq = (this.#version.get(this.origin) ?? 0) + 1;
    const header = { origin: this.origin, seq, hlc: this.clock.tick(), docId, kind: content.kind };
    const stored = content.kind === 'put' ? content.put.stored : content.stored;
    this.#insertOp.run(header.origin, header.seq, header.hlc, header.docId, header.kind, bindable(stored), null);
    this.#setVersion.run(this.origin, seq);
    this.#materialize(header, content);
    const bytes = typeof stored === 'string' ? Buffer.byteLength(stored) : stored.byteLength;
    if (content.kind === 'delete') {
      this.#pending.push({ op: { ...header, payload: content.payload }, info: { bytes, digest: null } });
      return;
    }
    const p = content.put;
    // Prepared off the main thread: its content stays here (publishing it whole would mean encoding it again).
    const large = typeof p.stored !== 'string';
    const payload: PutPayload | null = large ? null : { ...p.fields, text: p.text, chunks: p.chunks as ChunkSpan[] };
    this.#pending.push({ op: { ...header, payload }, info: { bytes, digest: p.digest } });
  }

  // A listener that throws must not undo a committed write, so its error is dropped here.
  #announcing<T>(write: () => T): T {
    let result: T;
    try {
      result = write();
    } catch (err) {
      this.#pending = [];
      throw err;
    }
    const ops = this.#pending;
    this.#pending = [];
    for (const { op, info } of ops) for (const l of this.#listeners) { try { l(op, info); } catch { /* see above */ } }
    return result;
  }

  #materialize(op: OpHeader, content: NonNullable<Content>): void {
    if (content.kind === 'delete') {
      if (this.#m.delete(op.docId, op.hlc, op.origin, content.payload, this.#now())) this.#indexer.schedule();
      return;
    }
    const { fields, text, large, chunks } = content.put;
    const source: IndexSource | null = this.#m.put(op.docId, op.hlc, op.origin, fields, { text, large }, listOf(chunks));
    if (source) {
      this.#indexer.remember(source);
      this.#indexer.schedule();
    }
  }
}

function sameContent(row: DocRow, { fields: p }: PreparedPut): boolean {
  return row.hash === p.hash && row.title === p.title && row.source === p.source && row.collection === p.collection
    && row.tags === JSON.stringify(p.tags) && row.meta === JSON.stringify(p.meta);
}
