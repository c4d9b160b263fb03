// Knowledge-base tables: documents with tombstones, chunks, the FTS5 index derived from them, and the op log.
import type { Migration } from '../core/database.ts';

export const knowledgeMigrations: readonly Migration[] = [
  {
    id: 'knowledge/001-docs',
    up: `
      CREATE TABLE kb_docs (
        num INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        collection TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        meta TEXT NOT NULL DEFAULT '{}',
        text TEXT NOT NULL,
        hash TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        hlc TEXT NOT NULL,
        origin TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX kb_docs_collection ON kb_docs(collection, deleted);
      CREATE TABLE kb_chunks (
        id INTEGER PRIMARY KEY,
        doc_num INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL,
        UNIQUE (doc_num, ordinal)
      );
      -- The FTS tables read their content through this view; tombstoned documents have no chunks, so they are never indexed.
      CREATE VIEW kb_chunk_content AS
        SELECT c.id AS id, d.title AS title, c.heading AS heading, c.text AS text
        FROM kb_chunks c JOIN kb_docs d ON d.num = c.doc_num;
      CREATE VIRTUAL TABLE kb_fts USING fts5(title, heading, text,
        content = 'kb_chunk_content', content_rowid = 'id', tokenize = "unicode61 remove_diacritics 2");
      -- Stems only widen recall for single words, so the second index keeps no positions (detail=column): smaller, faster to write.
      CREATE VIRTUAL TABLE kb_fts_porter USING fts5(title, heading, text,
        content = 'kb_chunk_content', content_rowid = 'id', tokenize = "porter unicode61 remove_diacritics 2", detail = 'column');
      INSERT INTO kb_fts(kb_fts, rank) VALUES ('rank', 'bm25(4.0, 2.0, 1.0)');
      INSERT INTO kb_fts_porter(kb_fts_porter, rank) VALUES ('rank', 'bm25(4.0, 2.0, 1.0)');
    `,
  },
  {
    id: 'knowledge/002-ops',
    up: `
      -- A rowid table, not WITHOUT ROWID: payloads hold whole documents, and big rows belong outside the key B-tree.
      CREATE TABLE kb_ops (
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hlc TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('put', 'delete')),
        payload TEXT,
        PRIMARY KEY (origin, seq)
      );
      CREATE INDEX kb_ops_doc ON kb_ops(doc_id, hlc);
      CREATE INDEX kb_ops_hlc ON kb_ops(hlc);
      CREATE TABLE kb_version (origin TEXT PRIMARY KEY, max_seq INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    id: 'knowledge/003-op-proofs',
    // The origin's signature travels with its op (opaque to the store) so any holder can pass the op on verifiably.
    up: 'ALTER TABLE kb_ops ADD COLUMN proof TEXT;',
  },
  {
    id: 'knowledge/004-one-index',
    // Stemmed recall now widens the query instead (stems.ts), so the porter index was only write cost: it doubled the
    // time to ingest. Merging 8 segments at a time instead of 4 rewrites the index less often during bulk ingestion.
    up: `
      DROP TABLE kb_fts_porter;
      INSERT INTO kb_fts(kb_fts, rank) VALUES ('automerge', 8);
    `,
  },
  {
    id: 'knowledge/005-index-jobs',
    // A large document's chunks are (un)indexed in slices across event-loop turns (indexer.ts); a job row marks its
    // document as not searchable until done, and lets a restart resume where a crash stopped it.
    up: `
      CREATE TABLE kb_index_jobs (
        doc_num INTEGER PRIMARY KEY,
        -- The document version whose chunks are being written.
        hlc TEXT NOT NULL,
        next_ordinal INTEGER NOT NULL DEFAULT 0,
        -- The title the document's old chunks were indexed under, while any are left to remove (FTS5 needs it).
        stale_title TEXT,
        -- The title its new chunks are indexed under; NULL when it was deleted (nothing to write). Kept here because
        -- reading it from the document row would walk a large text's overflow pages on every slice.
        title TEXT
      );
    `,
  },
  {
    id: 'knowledge/006-op-proofs',
    // A proof attached after its op was written (a local op is signed once stored) is kept beside it: setting a column
    // of an op row rewrites the whole row, a 16 MiB payload included, which held the event loop some 300 ms. Proofs
    // that came with their op stay in its row.
    up: 'CREATE TABLE kb_op_proofs (origin TEXT NOT NULL, seq INTEGER NOT NULL, proof TEXT NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID;',
  },
];
