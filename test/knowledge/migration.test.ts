// Schema migration: a node whose knowledge base has the old second (porter) index keeps its documents and search after upgrading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore, knowledgeMigrations } from '../../src/knowledge/index.ts';

test('knowledge/004 drops the porter index of an existing node; its chunks stay searchable, stems included', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  // A node at knowledge/003 with one document, written as that version's materializer did (both indexes).
  migrate(
    db,
    knowledgeMigrations.filter((m) => m.id < 'knowledge/004'),
  );
  db.prepare(`INSERT INTO kb_docs (id, collection, source, title, text, hash, updated_at, hlc, origin)
    VALUES ('old', 'default', '', 'Old notes', 'The drivers were racing.', 'h', 1, 'x', 'node-a')`).run();
  db.prepare("INSERT INTO kb_chunks (doc_num, ordinal, heading, text) VALUES (1, 0, '', 'The drivers were racing.')").run();
  db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('rebuild'); INSERT INTO kb_fts_porter(kb_fts_porter) VALUES ('rebuild');");

  const store = new KnowledgeStore(db, 'node-a');
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'kb_fts%' AND type = 'table'").pluck().all();
  assert.ok(!tables.includes('kb_fts_porter'));
  assert.deepEqual(
    store.search('racing').map((r) => r.docId),
    ['old'],
  );
  assert.deepEqual(
    store.search('race').map((r) => r.docId),
    ['old'],
  );
  store.put({ id: 'new', text: 'A race on Sunday.' });
  assert.deepEqual(
    store.search('race').map((r) => r.docId),
    ['new', 'old'],
  );
  db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check')");
});
