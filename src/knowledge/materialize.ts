// Applies a winning op to the document, chunk and FTS tables. A small document's chunks are (un)indexed in the same
// transaction; a large one's are left to an index job (indexer.ts), and the document is not searchable until it is done.
import type { Db } from '../core/database.ts';
import type { ChunkList } from './chunk-list.ts';
import type { DeletePayload } from './ops.ts';
import type { PutFields } from './prepare.ts';

export interface DocRow {
  num: number;
  id: string;
  collection: string;
  source: string;
  title: string;
  tags: string;
  meta: string;
  hash: string;
  updated_at: number;
  hlc: string;
  origin: string;
  deleted: number;
}

export interface JobRow {
  doc_num: number;
  hlc: string;
  next_ordinal: number;
  stale_title: string | null;
  title: string | null;
}

/** A document version whose chunks an index job writes: kept in memory so the job need not read it back. */
export interface IndexSource {
  num: number;
  hlc: string;
  text: string;
  chunks: ChunkList;
}

/** Chunks (un)indexed inside the writing transaction: some 5 ms of FTS work; more goes to an index job. */
export const INLINE_CHUNKS = 256;

/** Prepared statements that turn ops into rows; every method expects to run inside the caller's transaction. */
export class Materializer {
  #docById;
  #chunksOf;
  #ftsDelete;
  #ftsInsert;
  #deleteChunks;
  #upsertDoc;
  #insertChunk;
  #countChunks;
  #jobOf;
  #setJob;
  #dropJob;

  constructor(db: Db) {
    this.#docById = db.prepare<[string], DocRow>(
      'SELECT num, id, collection, source, title, tags, meta, hash, updated_at, hlc, origin, deleted FROM kb_docs WHERE id = ?',
    );
    this.#chunksOf = db.prepare<[number], { id: number; heading: string; text: string }>('SELECT id, heading, text FROM kb_chunks WHERE doc_num = ?');
    this.#ftsDelete = db.prepare("INSERT INTO kb_fts(kb_fts, rowid, title, heading, text) VALUES ('delete', ?, ?, ?, ?)");
    this.#ftsInsert = db.prepare('INSERT INTO kb_fts(rowid, title, heading, text) VALUES (?, ?, ?, ?)');
    this.#deleteChunks = db.prepare('DELETE FROM kb_chunks WHERE doc_num = ?');
    this.#upsertDoc = db.prepare<unknown[], { num: number }>(`
      INSERT INTO kb_docs (id, collection, source, title, tags, meta, text, hash, updated_at, hlc, origin, deleted)
      VALUES (@id, @collection, @source, @title, @tags, @meta, @text, @hash, @updatedAt, @hlc, @origin, @deleted)
      ON CONFLICT (id) DO UPDATE SET collection = excluded.collection, source = excluded.source, title = excluded.title,
        tags = excluded.tags, meta = excluded.meta, text = excluded.text, hash = excluded.hash, updated_at = excluded.updated_at,
        hlc = excluded.hlc, origin = excluded.origin, deleted = excluded.deleted
      RETURNING num`);
    this.#insertChunk = db.prepare('INSERT INTO kb_chunks (doc_num, ordinal, heading, text) VALUES (?, ?, ?, ?)');
    this.#countChunks = db.prepare<[number], number>('SELECT count(*) FROM kb_chunks WHERE doc_num = ?').pluck();
    this.#jobOf = db.prepare<[number], JobRow>('SELECT doc_num, hlc, next_ordinal, stale_title, title FROM kb_index_jobs WHERE doc_num = ?');
    this.#setJob = db.prepare('INSERT OR REPLACE INTO kb_index_jobs (doc_num, hlc, next_ordinal, stale_title, title) VALUES (?, ?, 0, ?, ?)');
    this.#dropJob = db.prepare('DELETE FROM kb_index_jobs WHERE doc_num = ?');
  }

  doc(id: string): DocRow | undefined {
    return this.#docById.get(id);
  }

  chunkCount(docNum: number): number {
    return this.#countChunks.get(docNum) ?? 0;
  }

  /**
   * Writes the document; returns the source an index job needs when its chunks were left to one, else null. A `large`
   * text is not written again: its op's payload holds it (reads.ts DOC_TEXT_SQL), which halves the longest write.
   */
  put(docId: string, hlc: string, origin: string, fields: PutFields, { text, large }: { text: string; large: boolean }, chunks: ChunkList): IndexSource | null {
    const existing = this.#docById.get(docId);
    const job = existing && this.#jobOf.get(existing.num);
    const indexed = existing ? this.chunkCount(existing.num) : 0;
    const deferred = job !== undefined || indexed > INLINE_CHUNKS || chunks.length > INLINE_CHUNKS;
    if (!deferred && existing && indexed > 0) this.#unindex(existing);
    const { num } = this.#upsertDoc.get({
      id: docId,
      collection: fields.collection,
      source: fields.source,
      title: fields.title,
      tags: JSON.stringify(fields.tags),
      meta: JSON.stringify(fields.meta),
      text: large ? '' : text,
      hash: fields.hash,
      updatedAt: fields.updatedAt,
      hlc,
      origin,
      deleted: 0,
    })!;
    if (deferred) {
      this.#setJob.run(num, hlc, staleTitle(existing, job, indexed), fields.title);
      return { num, hlc, text, chunks };
    }
    for (let i = 0; i < chunks.length; i++) {
      const chunk = text.slice(chunks.start(i), chunks.end(i));
      const rowid = this.#insertChunk.run(num, i, chunks.heading(i), chunk).lastInsertRowid;
      this.#ftsInsert.run(rowid, fields.title, chunks.heading(i), chunk);
    }
    return null;
  }

  /** A tombstone keeps the id, HLC and origin so older puts arriving later still lose. True when a job unindexes it. */
  delete(docId: string, hlc: string, origin: string, p: DeletePayload, updatedAt: number): boolean {
    const existing = this.#docById.get(docId);
    const job = existing && this.#jobOf.get(existing.num);
    const indexed = existing ? this.chunkCount(existing.num) : 0;
    const deferred = job !== undefined || indexed > INLINE_CHUNKS;
    if (!deferred && existing && indexed > 0) this.#unindex(existing);
    const { num } = this.#upsertDoc.get({
      id: docId,
      collection: p.collection,
      source: p.source,
      title: existing?.title ?? '',
      tags: '[]',
      meta: '{}',
      text: '',
      hash: '',
      updatedAt,
      hlc,
      origin,
      deleted: 1,
    })!;
    if (!deferred) return false;
    const stale = staleTitle(existing, job, indexed);
    if (stale === null) this.#dropJob.run(num);
    else this.#setJob.run(num, hlc, stale, null);
    return stale !== null;
  }

  // External-content FTS5 needs the exact old values to remove a row, so read them before the chunks go.
  #unindex(doc: DocRow): void {
    for (const c of this.#chunksOf.all(doc.num)) {
      this.#ftsDelete.run(c.id, doc.title, c.heading, c.text);
    }
    this.#deleteChunks.run(doc.num);
  }
}

/**
 * The title the document's chunks now in the index were written under, or null when it has none: an unfinished job's
 * old chunks keep theirs; otherwise they belong to the version in the row (a job's new chunks, or inline ones).
 */
function staleTitle(existing: DocRow | undefined, job: JobRow | undefined, indexed: number): string | null {
  if (job?.stale_title != null) return job.stale_title;
  return existing && indexed > 0 ? existing.title : null;
}
