// Store behaviour: documents with chunks, content-hash dedup, updates that replace chunks, tombstoning deletes, stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { ClientError } from '../../src/core/errors.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';

function fresh() {
  const db = openDatabase(':memory:');
  return { db, store: new KnowledgeStore(db, 'node-a') };
}

test('a put stores the document, its chunks and one op; the same content again is a no-op', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  const doc = { id: 'guide', collection: 'docs', title: 'Guide', text: 'First paragraph about llamas.\n\nSecond paragraph about alpacas.' };
  assert.deepEqual(store.put(doc), { id: 'guide', status: 'created', chunks: 1 });
  assert.deepEqual(store.put(doc), { id: 'guide', status: 'unchanged', chunks: 1 });
  const s = store.stats();
  assert.equal(s.documents, 1);
  assert.equal(s.chunks, 1);
  assert.equal(s.ops, 1);
  assert.equal(s.collections, 1);
  assert.ok(s.bytes > 0);
  assert.equal(store.get('guide')?.text, doc.text);
});

test('changed content replaces the chunks and the index forgets the old words', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  store.put({ id: 'note', text: 'zebras everywhere' });
  assert.equal(store.search('zebras').length, 1);
  assert.equal(store.put({ id: 'note', text: 'giraffes only' }).status, 'updated');
  assert.equal(store.search('zebras').length, 0);
  assert.equal(store.search('giraffes').length, 1);
  assert.equal(store.stats().chunks, 1);
  assert.equal(store.stats().ops, 2);
  // Integrity-check compares the external-content index with the content rows: a stale entry fails it.
  db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check');");
});

test('a metadata-only change (title) is an update, and search sees the new title', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  store.put({ id: 'n', title: 'Old heading', text: 'body words' });
  assert.equal(store.put({ id: 'n', title: 'Brand new heading', text: 'body words' }).status, 'updated');
  assert.equal(store.search('brand').length, 1);
  assert.equal(store.search('old').length, 0);
});

test('remove leaves a tombstone, takes the chunks out of the index, and a second remove reports false', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  store.put({ id: 'gone', collection: 'c1', text: 'ephemeral words' });
  assert.equal(store.remove('gone'), true);
  assert.equal(store.remove('gone'), false);
  assert.equal(store.get('gone'), null);
  assert.equal(store.search('ephemeral').length, 0);
  const s = store.stats();
  assert.deepEqual([s.documents, s.tombstones, s.chunks, s.ops], [0, 1, 0, 2]);
  assert.equal(store.put({ id: 'gone', collection: 'c1', text: 'ephemeral words' }).status, 'created');
});

test('ids are validated and derived stably from collection and source', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  for (const bad of ['', '../etc/passwd', 'a'.repeat(300), 'has space', 'x/../y', '-lead']) {
    assert.throws(() => store.put({ id: bad, text: 'x' }), ClientError, bad);
  }
  assert.throws(() => store.put({ collection: 'bad collection', text: 'x' }), ClientError);
  const a = store.put({ collection: 'docs', source: 'guide/intro.md', text: 'one' });
  const b = store.put({ collection: 'docs', source: 'guide/intro.md', text: 'two' });
  assert.equal(a.id, 'docs:guide/intro.md');
  assert.equal(b.id, a.id);
  assert.equal(b.status, 'updated');
  assert.match(store.put({ collection: 'docs', source: 'My Notes/é.md', text: 'x' }).id, /^docs:My-Notes\/-\.md~[0-9a-f]{12}$/);
});

test('list filters by collection and tag and pages with limit/offset', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  store.putMany([
    { id: 'a', collection: 'x', tags: ['red'], text: 'a' },
    { id: 'b', collection: 'x', tags: ['blue'], text: 'b' },
    { id: 'c', collection: 'y', tags: ['red', 'blue'], text: 'c' },
  ]);
  assert.deepEqual(
    store.list({ collection: 'x' }).map((d) => d.id),
    ['a', 'b'],
  );
  assert.deepEqual(
    store.list({ tag: 'red' }).map((d) => d.id),
    ['a', 'c'],
  );
  assert.deepEqual(
    store.list({ limit: 1, offset: 1 }).map((d) => d.id),
    ['b'],
  );
  assert.deepEqual(store.list({ tag: 'red' })[1].tags, ['blue', 'red']);
});

test('rebuilding the FTS index from the chunk rows gives the same results', (t) => {
  const { db, store } = fresh();
  t.after(() => db.close());
  store.put({ id: 'r', text: 'rebuildable knowledge' });
  store.rebuildIndex();
  assert.equal(store.search('rebuildable').length, 1);
  db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check');");
});
