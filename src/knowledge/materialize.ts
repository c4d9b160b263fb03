// Applies a winning op to the document, chunk and FTS tables; the FTS index is kept in step in the same transaction.
import type { Db } from '../core/database.ts';
import type { DeletePayload, PutPayload } from './ops.ts';

export interface DocRow {
  num: number; id: string; collection: string; source: string; title: string; tags: string; meta: string;
  hash: string; updated_at: number; hlc: string; origin: string; deleted: number;
}

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

  constructor(db: Db) {
    this.#docById = db.prepare<[string], DocRow>(
      'SELECT num, id, collection, source, title, tags, meta, hash, updated_at, hlc, origin, deleted FROM kb_docs WHERE id = ?');
    this.#chunksOf = db.prepare<[number], { id: number; heading: string; text: string }>(
      'SELECT id, heading, text FROM kb_chunks WHERE doc_num = ?');
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
  }

  doc(id: string): DocRow | undefined {
    return this.#docById.get(id);
  }

  chunkCount(docNum: number): number {
    return this.#countChunks.get(docNum) ?? 0;
  }

  put(docId: string, hlc: string, origin: string, p: PutPayload): number {
    const existing = this.#docById.get(docId);
    if (existing && !existing.deleted) this.#unindex(existing);
    const { num } = this.#upsertDoc.get({
      id: docId, collection: p.collection, source: p.source, title: p.title, tags: JSON.stringify(p.tags),
      meta: JSON.stringify(p.meta), text: p.text, hash: p.hash, updatedAt: p.updatedAt, hlc, origin, deleted: 0,
    })!;
    p.chunks.forEach((c, ordinal) => {
      const text = p.text.slice(c.start, c.end);
      const rowid = this.#insertChunk.run(num, ordinal, c.heading, text).lastInsertRowid;
      this.#ftsInsert.run(rowid, p.title, c.heading, text);
    });
    return p.chunks.length;
  }

  /** A tombstone keeps the id, HLC and origin so older puts arriving later still lose. */
  delete(docId: string, hlc: string, origin: string, p: DeletePayload, updatedAt: number): void {
    const existing = this.#docById.get(docId);
    if (existing && !existing.deleted) this.#unindex(existing);
    this.#upsertDoc.get({
      id: docId, collection: p.collection, source: p.source, title: existing?.title ?? '', tags: '[]', meta: '{}',
      text: '', hash: '', updatedAt, hlc, origin, deleted: 1,
    });
  }

  // External-content FTS5 needs the exact old values to remove a row, so read them before the chunks go.
  #unindex(doc: DocRow): void {
    for (const c of this.#chunksOf.all(doc.num)) {
      this.#ftsDelete.run(c.id, doc.title, c.heading, c.text);
    }
    this.#deleteChunks.run(doc.num);
  }
}
