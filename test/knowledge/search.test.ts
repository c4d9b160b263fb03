// Search: BM25 with title weighting, phrases, prefixes, stemming, filters, snippets, paging, and hostile input that never reaches FTS5 as syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openDatabase } from '../../src/core/database.ts';
import { ClientError } from '../../src/core/errors.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';

function seeded() {
  const db = openDatabase(':memory:');
  const store = new KnowledgeStore(db, 'node-a');
  store.putMany([
    { id: 'title-hit', collection: 'garden', tags: ['plants'], title: 'Tomatoes', text: 'A short note on growing vegetables in pots.' },
    { id: 'body-hit', collection: 'garden', tags: ['food'], title: 'Kitchen notes', text: 'Tomatoes, basil and olive oil make a salad.' },
    { id: 'phrase', collection: 'cars', tags: ['plants'], title: 'Engines', text: 'The red car is fast. A car that is red is rare.' },
    { id: 'stem', collection: 'cars', title: 'Racing', text: 'The drivers were racing and the engine raced.' },
    { id: 'accents', collection: 'cafe', title: 'Café', text: 'Crème brûlée à la française.' },
  ]);
  return { db, store };
}

test('a title match ranks above a body-only match', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  const results = store.search('tomatoes');
  assert.deepEqual(
    results.map((r) => r.docId),
    ['title-hit', 'body-hit'],
  );
  assert.ok(results[0].score > results[1].score);
  const r = results[1];
  assert.deepEqual({ id: r.id, title: r.title, collection: r.collection }, { id: 'body-hit#0', title: 'Kitchen notes', collection: 'garden' });
  assert.equal(r.text, 'Tomatoes, basil and olive oil make a salad.');
});

test('quoted phrases match words in order only; word* matches prefixes; stems match through the porter index', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  assert.deepEqual(
    store.search('"red car"').map((r) => r.docId),
    ['phrase'],
  );
  assert.deepEqual(
    store.search('"car red"').map((r) => r.docId),
    [],
  );
  assert.deepEqual(
    store.search('veget*').map((r) => r.docId),
    ['title-hit'],
  );
  assert.deepEqual(
    store.search('race').map((r) => r.docId),
    ['stem'],
  );
  assert.deepEqual(
    store.search('creme brulee').map((r) => r.docId),
    ['accents'],
  );
});

test('exact-word matches come before stem-only matches', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = new KnowledgeStore(db, 'n');
  store.putMany([
    { id: 'stem-only', title: 'Jumped', text: 'He jumped. He jumped again. Jumped jumped.' },
    { id: 'exact', text: 'A long note that mentions jumping once among many other words of no interest at all.' },
  ]);
  const results = store.search('jumping');
  assert.deepEqual(
    results.map((r) => r.docId),
    ['exact', 'stem-only'],
  );
  assert.match(results[1].snippet, /\*\*jumped\*\*/i);
});

test('snippets highlight the matched words with the requested markers', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  assert.match(store.search('basil')[0].snippet, /\*\*basil\*\*/);
  assert.match(store.search('olive', { highlight: { open: '<b>', close: '</b>' } })[0].snippet, /<b>olive<\/b>/);
});

test('collection and tag filters, limit and offset', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  assert.deepEqual(store.search('tomatoes', { collection: 'cars' }), []);
  assert.deepEqual(
    store.search('tomatoes', { tag: 'food' }).map((r) => r.docId),
    ['body-hit'],
  );
  assert.deepEqual(
    store.search('the', { tag: 'plants', collection: 'cars' }).map((r) => r.docId),
    ['phrase'],
  );
  const all = store.search('the OR a', { mode: 'any', limit: 100 }).map((r) => r.docId);
  assert.deepEqual(
    store.search('the OR a', { mode: 'any', limit: 2, offset: 1 }).map((r) => r.docId),
    all.slice(1, 3),
  );
  assert.throws(() => store.search('x', { collection: 'no spaces allowed' }), ClientError);
});

test('FTS5 operators typed by a user are plain words, not syntax', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  // Unquoted, `red NOT car` would exclude the phrase document; as words it requires all three.
  assert.deepEqual(
    store.search('red NOT car').map((r) => r.docId),
    [],
  );
  assert.deepEqual(
    store.search('title:Engines').map((r) => r.docId),
    [],
  );
  assert.deepEqual(
    store.search('red car').map((r) => r.docId),
    ['phrase'],
  );
});

test('hostile queries return results or a 400 ClientError, never an SQLite error', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  const hostile = [
    '"',
    '""',
    '*',
    '**',
    'NEAR(',
    'NEAR(red car, 2)',
    '(((',
    ')',
    'red)',
    'AND OR NOT',
    'AND',
    'text:',
    'title:red',
    '{title text}: red',
    '^red',
    'red -car',
    'red + car',
    '"unbalanced phrase',
    "'; DROP TABLE kb_docs; --",
    '\u0000',
    'x'.repeat(100_000),
    'a*b*c',
    '-',
    'NOT',
    'car*"*',
    '\\"',
    '   ',
    '',
  ];
  for (const q of hostile) {
    try {
      const r = store.search(q);
      assert.ok(Array.isArray(r));
    } catch (err) {
      assert.ok(err instanceof ClientError, `${JSON.stringify(q.slice(0, 30))}: ${String(err)}`);
      assert.equal(err.status, 400);
      // invalid_query is the safety net for an FTS5 error; reaching it means escaping failed.
      assert.notEqual(err.code, 'invalid_query', JSON.stringify(q.slice(0, 30)));
    }
  }
  assert.throws(
    () => store.search(''),
    (e: unknown) => e instanceof ClientError && e.code === 'empty_query',
  );
  assert.throws(
    () => store.search('x'.repeat(100_000)),
    (e: unknown) => e instanceof ClientError && e.code === 'query_too_long',
  );
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('"', '*', '(', ')', ':', '^', '-', '+', ' ', 'a', 'N', 'E', 'R', 'O', 'T', '{', '}', '.', 'é') }), (q) => {
      try {
        store.search(q, { mode: 'any' });
        store.search(q);
      } catch (err) {
        if (!(err instanceof ClientError) || err.code === 'invalid_query') throw err;
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(store.stats().documents, 5);
});
