// Read-side queries over live documents: one document, filtered lists, and size statistics.
import type { Db } from '../core/database.ts';
import { validateCollection } from './ids.ts';
import type { DocRow } from './materialize.ts';

export interface StoredDocument {
  id: string;
  collection: string;
  source: string;
  title: string;
  tags: string[];
  meta: Record<string, unknown>;
  hash: string;
  updatedAt: number;
  hlc: string;
  origin: string;
  chunks: number;
  /** Only when one document is read by id. */
  text?: string;
}

export interface DocumentFilter {
  collection?: string;
  tag?: string;
  limit?: number;
  offset?: number;
}

export interface KnowledgeStats {
  documents: number;
  tombstones: number;
  chunks: number;
  collections: number;
  bytes: number;
  ops: number;
}

/** A live document's row as read, with its chunk count (and its text when one document is read). */
type Row = Omit<DocRow, 'num' | 'deleted'> & { chunks: number; text?: string };

/** sha-256 of the empty text: a document whose stored text is empty but whose hash is not this has its text elsewhere. */
const EMPTY_TEXT_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * A document's text. A large one is stored once, in its op's payload (writing it a second time into the document row
 * would double the longest write), so its row holds an empty text: read from the op that put it.
 */
export const DOC_TEXT_SQL = `CASE WHEN d.text = '' AND d.hash <> '${EMPTY_TEXT_HASH}'
  THEN (SELECT json_extract(o.payload, '$.text') FROM kb_ops o WHERE o.doc_id = d.id AND o.hlc = d.hlc) ELSE d.text END`;

const COLUMNS = `d.id, d.collection, d.source, d.title, d.tags, d.meta, d.hash, d.updated_at, d.hlc, d.origin,
  (SELECT count(*) FROM kb_chunks c WHERE c.doc_num = d.num) AS chunks`;

function toDocument(r: Row): StoredDocument {
  const doc: StoredDocument = {
    id: r.id,
    collection: r.collection,
    source: r.source,
    title: r.title,
    tags: JSON.parse(r.tags),
    meta: JSON.parse(r.meta),
    hash: r.hash,
    updatedAt: r.updated_at,
    hlc: r.hlc,
    origin: r.origin,
    chunks: r.chunks,
  };
  if (r.text !== undefined) doc.text = r.text;
  return doc;
}

export function readDocument(db: Db, id: string): StoredDocument | null {
  const r = db.prepare<[string], Row>(`SELECT ${COLUMNS}, ${DOC_TEXT_SQL} AS text FROM kb_docs d WHERE d.id = ? AND d.deleted = 0`).get(id);
  return r ? toDocument(r) : null;
}

export function listDocuments(db: Db, f: DocumentFilter): StoredDocument[] {
  const where = ['d.deleted = 0'];
  const args: unknown[] = [];
  if (f.collection !== undefined) {
    where.push('d.collection = ?');
    args.push(validateCollection(f.collection));
  }
  if (f.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)');
    args.push(f.tag);
  }
  const limit = clampInt(f.limit, 100, 1, 10_000);
  const offset = clampInt(f.offset, 0, 0, Number.MAX_SAFE_INTEGER);
  return db
    .prepare<unknown[], Row>(`SELECT ${COLUMNS} FROM kb_docs d WHERE ${where.join(' AND ')} ORDER BY d.id LIMIT ? OFFSET ?`)
    .all(...args, limit, offset)
    .map(toDocument);
}

export function readStats(db: Db): KnowledgeStats {
  const count = (sql: string) => db.prepare<[], number>(sql).pluck().get() ?? 0;
  return {
    documents: count('SELECT count(*) FROM kb_docs WHERE deleted = 0'),
    tombstones: count('SELECT count(*) FROM kb_docs WHERE deleted = 1'),
    chunks: count('SELECT count(*) FROM kb_chunks'),
    collections: count('SELECT count(DISTINCT collection) FROM kb_docs WHERE deleted = 0'),
    bytes: (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number),
    ops: count('SELECT count(*) FROM kb_ops'),
  };
}

export function clampInt(v: unknown, fallback: number, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}
