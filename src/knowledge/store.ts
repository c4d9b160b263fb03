// The knowledge store: every local change is an op in the log (next seq, new HLC) applied last-writer-wins, as remote ops are.
import type { Db } from '../core/database.ts';
import { migrate } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { chunkText } from './chunk.ts';
import type { ChunkSpan } from './chunk.ts';
import { compareHlc, encodeHlc, OpLog, type HybridClock, type OpPageLimits, type ProvenOp as LogProvenOp, type StoredOp } from '../oplog/index.ts';
import { DEFAULT_COLLECTION, sha256, stableDocId, validateCollection, validateDocId } from './ids.ts';
import { Materializer } from './materialize.ts';
import type { DocRow } from './materialize.ts';
import { KB_TABLES, MAX_DOCUMENT_BYTES, MAX_OP_PAYLOAD_BYTES, parseOp } from './ops.ts';
import type { DeletePayload, KnowledgeOp, PutPayload, VersionVector } from './ops.ts';
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
/** An op with the proof of origin its replicator attached (null until one is attached). */
export type ProvenOp = LogProvenOp<KnowledgeOp>;
export type LocalOpListener = (op: KnowledgeOp) => void;

export class KnowledgeStore {
  readonly db: Db;
  readonly origin: string;
  readonly clock: HybridClock;
  #now: () => number;
  #m: Materializer;
  /** The op log every change goes through (shared machinery with the client keys' log). */
  #log: OpLog<KnowledgeOp>;

  constructor(db: Db, origin: string, opts: { now?: () => number; maxDriftMs?: number } = {}) {
    if (!origin || /\s/.test(origin)) throw new ClientError('Knowledge store origin id must be a non-empty string without spaces');
    migrate(db, knowledgeMigrations);
    this.db = db;
    this.origin = origin;
    this.#now = opts.now ?? Date.now;
    this.#log = new OpLog<KnowledgeOp>(db, KB_TABLES, origin, { now: this.#now, maxDriftMs: opts.maxDriftMs });
    this.clock = this.#log.clock;
    this.#m = new Materializer(db);
  }

  /** Calls `listener` with every local op once its transaction has committed (the replicator publishes them). */
  onLocalOp(listener: LocalOpListener): () => void {
    return this.#log.onLocalOp(listener);
  }

  /** Checks an op from elsewhere (shape and payload) before it touches the database. */
  parseOp(input: unknown): KnowledgeOp {
    return parseOp(input);
  }

  put(doc: DocumentInput): PutResult {
    return this.putMany([doc])[0];
  }

  /** Writes many documents in one transaction (the fast path for ingestion); identical re-adds record nothing. */
  putMany(docs: readonly DocumentInput[]): PutResult[] {
    const prepared = docs.map((d) => this.#prepare(d));
    return this.#log.write(() => prepared.map(({ id, payload }): PutResult => {
      const existing = this.#m.doc(id);
      const live = existing !== undefined && !existing.deleted;
      if (live && sameContent(existing, payload)) return { id, status: 'unchanged', chunks: this.#m.chunkCount(existing.num) };
      this.#local(id, 'put', payload);
      return { id, status: live ? 'updated' : 'created', chunks: payload.chunks.length };
    }));
  }

  /** Deletes (tombstones) a document; false when there is no live document with that id. */
  remove(id: string): boolean {
    validateDocId(id);
    return this.#log.write(() => {
      const existing = this.#m.doc(id);
      if (!existing || existing.deleted) return false;
      this.#local(id, 'delete', { collection: existing.collection, source: existing.source });
      return true;
    });
  }

  /** Applies an op from another node, keeping its proof of origin; safe to repeat and to receive out of order. */
  applyRemote(input: unknown, proof: string | null = null): ApplyResult {
    const op = parseOp(input);
    validateDocId(op.docId, 'docId');
    return this.db.transaction((): ApplyResult => {
      const existing = this.#m.doc(op.docId);
      const current = existing?.hlc ?? this.#log.latestHlc(op.docId);
      if (!this.#log.insertRemote(op, proof)) return 'duplicate';
      if (op.payload === null) return 'stale';
      const cmp = current === null ? 1 : compareHlc(op.hlc, current);
      // Equal HLCs mean the same writer and instant; a delete then wins so a removal is never undone.
      const wins = cmp > 0 || (cmp === 0 && op.kind === 'delete' && !existing?.deleted);
      if (!wins) return 'stale';
      this.#materialize(op);
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

  /** This node's own ops after `seq`, at most `limit`, in order. */
  localOpsAfter(seq: number, limit: number): KnowledgeOp[] {
    return this.#log.localOpsAfter(seq, limit);
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
    const cutoff = encodeHlc({ wall: Math.max(0, this.#now() - horizonMs), counter: 0, origin: '' });
    const covered = (origin: string, seq: number) => peersVectors.every((v) => (v[origin] ?? 0) >= seq);
    return this.db.transaction(() => {
      let tombstones = 0;
      let ops = 0;
      const dead = this.db.prepare<[string], { num: number; id: string; hlc: string }>(
        'SELECT num, id, hlc FROM kb_docs WHERE deleted = 1 AND hlc < ?').all(cutoff);
      const opOf = this.db.prepare<[string, string], { origin: string; seq: number }>('SELECT origin, seq FROM kb_ops WHERE doc_id = ? AND hlc = ?');
      const drop = this.db.prepare('DELETE FROM kb_docs WHERE num = ?');
      for (const d of dead) {
        const op = opOf.get(d.id, d.hlc);
        if (op && !covered(op.origin, op.seq)) continue;
        drop.run(d.num);
        tombstones++;
      }
      const superseded = this.db.prepare<[string], { origin: string; seq: number }>(`
        SELECT origin, seq FROM kb_ops o WHERE o.payload IS NOT NULL AND o.kind = 'put' AND o.hlc < ?
          AND EXISTS (SELECT 1 FROM kb_ops n WHERE n.doc_id = o.doc_id AND n.hlc > o.hlc)`).all(cutoff);
      const strip = this.db.prepare('UPDATE kb_ops SET payload = NULL WHERE origin = ? AND seq = ?');
      for (const o of superseded) {
        if (!covered(o.origin, o.seq)) continue;
        strip.run(o.origin, o.seq);
        ops++;
      }
      return { tombstones, ops };
    })();
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
    this.db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('rebuild');");
  }

  #prepare(d: DocumentInput): { id: string; payload: PutPayload } {
    if (typeof d.text !== 'string') throw new ClientError('Document text must be a string', { param: 'text' });
    const bytes = Buffer.byteLength(d.text);
    if (bytes > MAX_DOCUMENT_BYTES) {
      const name = d.source || d.id;
      throw new ClientError(`Document${name ? ` ${name}` : ''} has ${(bytes / 1048576).toFixed(1)} MiB of text; the limit is ${MAX_DOCUMENT_BYTES / 1048576} MiB: split it`,
        { status: 413, param: 'text', code: 'document_too_large' });
    }
    const collection = validateCollection(d.collection ?? DEFAULT_COLLECTION);
    const source = d.source ?? '';
    const id = d.id !== undefined ? validateDocId(d.id) : stableDocId(collection, source || `text-${sha256(d.text).slice(0, 16)}`);
    const tags = [...new Set((d.tags ?? []).map((t) => String(t).trim()).filter(Boolean))].sort();
    const chunks = d.chunks ?? chunkText(d.text);
    if (chunks.some((c) => c.end <= c.start || c.end > d.text.length)) throw new ClientError('Chunk span outside the document text');
    return {
      id,
      payload: {
        collection, source, title: d.title || source || id, tags, meta: d.meta ?? {}, text: d.text,
        hash: sha256(d.text), updatedAt: this.#now(), chunks,
      },
    };
  }

  #local(docId: string, kind: 'put' | 'delete', payload: PutPayload | DeletePayload): void {
    const stored = JSON.stringify(payload);
    if (Buffer.byteLength(stored) > MAX_OP_PAYLOAD_BYTES) throw new ClientError(`Document ${docId} takes more than ${MAX_OP_PAYLOAD_BYTES / 1048576} MiB once encoded: split it`, { status: 413, code: 'document_too_large' });
    this.#materialize(this.#log.append(docId, kind, payload, stored));
  }

  #materialize(op: KnowledgeOp): void {
    if (op.kind === 'put') this.#m.put(op.docId, op.hlc, op.origin, op.payload as PutPayload);
    else this.#m.delete(op.docId, op.hlc, op.origin, op.payload as DeletePayload, this.#now());
  }
}

function sameContent(row: DocRow, p: PutPayload): boolean {
  return row.hash === p.hash && row.title === p.title && row.source === p.source && row.collection === p.collection
    && row.tags === JSON.stringify(p.tags) && row.meta === JSON.stringify(p.meta);
}
