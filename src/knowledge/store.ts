// The knowledge store: every local change is an op in the log (next seq, new HLC) applied last-writer-wins, as remote ops are.
import type { Db } from '../core/database.ts';
import { migrate } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import type { ChunkSpan } from './chunk.ts';
import { listOf } from './chunk-list.ts';
import { compactTombstones } from './compaction.ts';
import {
  compareHlc,
  OpLog,
  type HybridClock,
  type LocalOpListener as LogListener,
  type OpPageLimits,
  type ProvenOp as LogProvenOp,
  type StoredOp,
} from '../oplog/index.ts';
import { validateDocId } from './ids.ts';
import { Indexer } from './indexer.ts';
import { Materializer } from './materialize.ts';
import type { DocRow, IndexSource } from './materialize.ts';
import { Offload } from './offload.ts';
import { CheckpointAside } from './checkpoint-aside.ts';
import { KB_TABLES, parseOp } from './ops.ts';
import type { DeletePayload, KnowledgeOp, PutPayload, VersionVector } from './ops.ts';
import { LARGE_TEXT, preparePut } from './prepare.ts';
import type { DecodedOp, OpHeader, PreparedPut } from './prepare.ts';
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

export interface PutResult {
  id: string;
  status: 'created' | 'updated' | 'unchanged';
  chunks: number;
}
export type ApplyResult = 'applied' | 'stale' | 'duplicate';
/** An op with the proof of origin its replicator attached (null until one is attached). */
export type ProvenOp = LogProvenOp<KnowledgeOp>;
/** Hears of every local op (a large one without its payload, see LocalOpInfo). */
export type LocalOpListener = LogListener<KnowledgeOp>;

/** A put's or delete's content as the store writes it: the payload's stored JSON and what materializing needs. */
type Content = { kind: 'put'; put: PreparedPut } | { kind: 'delete'; payload: DeletePayload; stored: string } | null;

export class KnowledgeStore {
  readonly db: Db;
  readonly origin: string;
  readonly clock: HybridClock;
  #now: () => number;
  #m: Materializer;
  #indexer: Indexer;
  #offload: Offload | null = null;
  #checkpoints: CheckpointAside;
  /** The op log every change goes through (shared machinery with the client keys' log). */
  #log: OpLog<KnowledgeOp>;
  /** What replication needs for ops too large to handle on the main thread (see ReplicatedStore). */
  readonly large = {
    decode: (bytes: Uint8Array) => this.offload.decode(bytes),
    digest: (stored: Uint8Array) => this.offload.digest(stored),
    apply: (op: DecodedOp, proof: string) => this.applyDecoded(op, proof),
  };

  constructor(db: Db, origin: string, opts: { now?: () => number; maxDriftMs?: number } = {}) {
    if (!origin || /\s/.test(origin)) throw new ClientError('Knowledge store origin id must be a non-empty string without spaces');
    migrate(db, knowledgeMigrations);
    this.db = db;
    this.origin = origin;
    this.#now = opts.now ?? Date.now;
    this.#log = new OpLog<KnowledgeOp>(db, KB_TABLES, origin, { now: this.#now, maxDriftMs: opts.maxDriftMs });
    this.clock = this.#log.clock;
    this.#m = new Materializer(db);
    this.#indexer = new Indexer(db);
    this.#checkpoints = new CheckpointAside(db, () => this.offload);
    // A job a crash left is resumed in the background.
    if (this.#indexer.pending()) this.#indexer.schedule();
  }

  /** Calls `listener` with every local op once its transaction has committed (the replicator publishes them). */
  onLocalOp(listener: LocalOpListener): () => void {
    return this.#log.onLocalOp(listener);
  }

  /** Checks an op from elsewhere (shape and payload) before it touches the database. */
  parseOp(input: unknown): KnowledgeOp {
    return parseOp(input);
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
    return this.#checkpoints.around(
      prepared.some((p) => p.large),
      () =>
        this.#log.write(() =>
          prepared.map((p): PutResult => {
            const existing = this.#m.doc(p.id);
            const live = existing !== undefined && !existing.deleted;
            if (live && sameContent(existing, p)) return { id: p.id, status: 'unchanged', chunks: this.#m.chunkCount(existing.num) };
            this.#local(p.id, { kind: 'put', put: p });
            return { id: p.id, status: live ? 'updated' : 'created', chunks: listOf(p.chunks).length };
          }),
        ),
    );
  }

  /** Deletes (tombstones) a document; false when there is no live document with that id. */
  remove(id: string): boolean {
    validateDocId(id);
    return this.#log.write(() => {
      const existing = this.#m.doc(id);
      if (!existing || existing.deleted) return false;
      const payload = { collection: existing.collection, source: existing.source };
      this.#local(id, { kind: 'delete', payload, stored: JSON.stringify(payload) });
      return true;
    });
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
      const existing = this.#m.doc(op.docId);
      const current = existing?.hlc ?? this.#log.latestHlc(op.docId);
      if (!this.#log.insertRemote(op, stored, proof)) return 'duplicate';
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
    return this.#log.latestHlc(docId);
  }

  versionVector(): VersionVector {
    return this.#log.versionVector();
  }

  /** Ops the holder of `since` has not seen, per origin in sequence order, at most `limit`; page by asking again. */
  opsSince(since: VersionVector, limit = 1000): KnowledgeOp[] {
    return this.provenOpsSince(since, limit).map((p) => p.op);
  }

  /** `opsSince` with each op's stored proof of origin. */
  provenOpsSince(since: VersionVector, limit = 1000): ProvenOp[] {
    return this.#log.provenOpsSince(since, limit);
  }

  /** Ops the holder of `since` lacks as stored (payload JSON text), in pages bounded by count and bytes: what sync sends. */
  storedOpsSince(since: VersionVector, limits: OpPageLimits): StoredOp[] {
    return this.#log.storedOpsSince(since, limits);
  }

  /** The highest sequence number of this node's own ops (0 before the first); another process may have written it. */
  localSeq(): number {
    return this.#log.localSeq();
  }

  /** This node's own ops after `seq` as stored, in pages bounded by count and bytes, in order. */
  localOpsAfter(seq: number, limits: OpPageLimits): StoredOp[] {
    return this.#log.localOpsAfter(seq, limits);
  }

  /** Attaches a proof of origin to a stored op (the replicator signs local ops after they are written). */
  setOpProof(origin: string, seq: number, proof: string): void {
    this.#log.setOpProof(origin, seq, proof);
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
    if (content.kind === 'delete') {
      this.#materialize(this.#log.append(docId, 'delete', content.payload, content.stored), content);
      return;
    }
    const p = content.put;
    // Prepared off the main thread: its content stays here (publishing it whole would mean encoding it again).
    const payload: PutPayload | null = typeof p.stored !== 'string' ? null : { ...p.fields, text: p.text, chunks: p.chunks as ChunkSpan[] };
    this.#materialize(this.#log.append(docId, 'put', payload, p.stored, p.digest), content);
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
  return (
    row.hash === p.hash
    && row.title === p.title
    && row.source === p.source
    && row.collection === p.collection
    && row.tags === JSON.stringify(p.tags)
    && row.meta === JSON.stringify(p.meta)
  );
}
