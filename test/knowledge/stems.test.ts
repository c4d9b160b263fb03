// Stem widening: a word becomes the forms that share its Porter stem, limited to forms the index holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import { indexedStemForms, stemForms } from '../../src/knowledge/stems.ts';

test('a word widens to its inflections, itself first; words the stemmer does not know stay alone', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const forms = stemForms(db, 'Racing');
  assert.equal(forms[0], 'racing');
  for (const f of ['race', 'races', 'raced']) assert.ok(forms.includes(f), f);
  assert.ok(!forms.includes('racket'));
  assert.deepEqual(stemForms(db, 'Straße'), ['straße']);
  assert.deepEqual(stemForms(db, 'ok'), ['ok']);
});

test('only forms present in the index widen a word, so a corpus without them skips the stem search', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = new KnowledgeStore(db, 'n');
  store.put({ id: 'a', text: 'Jumping is fun.' });
  assert.deepEqual(indexedStemForms(db, 'walking'), ['walking']);
  assert.ok(indexedStemForms(db, 'jumped').includes('jumping'));
});
