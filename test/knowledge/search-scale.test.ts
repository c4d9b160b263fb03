// Search past the planning threshold: clauses too common for bm25 filter the ranked candidates or rank the newest matches, and results still satisfy the query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import type { ChunkSpan, DocumentInput } from '../../src/knowledge/index.ts';
import { COMMON_DOCS } from '../../src/knowledge/ranking.ts';

const DOCS = 2_600;
const PER_DOC = 10;

// Every chunk holds "common"; every 1000th holds "rareword" (half of them right before "common"); 3 in 10 hold a
// word starting with "prefix".
function chunkText(n: number): string {
  const words = ['common', `filler${n % 50}`, `w${n % 997}`];
  if (n % 1000 === 0) words.push(n % 2000 === 0 ? 'rareword common' : 'rareword other');
  if (n % 10 < 3) words.push(n % 2 === 0 ? 'prefixalpha' : 'prefixbeta');
  return words.join(' ');
}

function corpus(): { db: ReturnType<typeof openDatabase>; store: KnowledgeStore } {
  const db = openDatabase(':memory:');
  const store = new KnowledgeStore(db, 'n');
  const docs: DocumentInput[] = [];
  for (let d = 0; d < DOCS; d++) {
    const parts: string[] = [];
    const chunks: ChunkSpan[] = [];
    let at = 0;
    for (let c = 0; c < PER_DOC; c++) {
      const text = chunkText(d * PER_DOC + c);
      chunks.push({ heading: '', start: at, end: at + text.length });
      parts.push(text);
      at += text.length + 2;
    }
    docs.push({ id: `d${d}`, title: `Doc ${d}`, text: parts.join('\n\n'), chunks });
  }
  store.putMany(docs);
  return { db, store };
}

const { db, store } = corpus();
test.after(() => db.close());

test('the corpus is past the point where common clauses leave bm25', () => {
  assert.ok(store.stats().chunks > COMMON_DOCS);
});

test('a rare word AND a common one finds exactly the chunks holding both', () => {
  const results = store.search('rareword common', { limit: 100 });
  assert.equal(results.length, (DOCS * PER_DOC) / 1000);
  assert.ok(results.every((r) => /\brareword\b/.test(r.text) && /\bcommon\b/.test(r.text)));
  assert.deepEqual(
    results.map((r) => r.score),
    results.map((r) => r.score).sort((a, b) => b - a),
  );
});

test('a phrase with a common word matches the words in order only', () => {
  const results = store.search('"rareword common"', { limit: 100 });
  assert.equal(results.length, (DOCS * PER_DOC) / 2000);
  assert.ok(results.every((r) => r.text.includes('rareword common')));
  assert.match(results[0].snippet, /\*\*rareword\*\* \*\*common\*\*/);
});

test('a word in every chunk fills the page with ranked matches, and pages agree', () => {
  const page = store.search('common', { limit: 10 });
  assert.equal(page.length, 10);
  assert.ok(page.every((r) => r.text.split(' ').includes('common') && r.snippet.includes('**common**')));
  assert.deepEqual(
    page.map((r) => r.score),
    page.map((r) => r.score).sort((a, b) => b - a),
  );
  assert.deepEqual(
    store.search('common', { limit: 5, offset: 5 }).map((r) => r.id),
    page.slice(5).map((r) => r.id),
  );
});

test('a common prefix matches words starting with it and highlights them', () => {
  const results = store.search('prefix*', { limit: 10 });
  assert.equal(results.length, 10);
  assert.ok(results.every((r) => /\*\*prefix(alpha|beta)\*\*/.test(r.snippet)));
});

test('any-term mode ranks the rare term first and fills the page with common matches', () => {
  const results = store.search('rareword common', { mode: 'any', limit: 40 });
  assert.equal(results.length, 40);
  const rare = (DOCS * PER_DOC) / 1000;
  assert.ok(results.slice(0, rare).every((r) => r.text.includes('rareword')));
  assert.ok(results.slice(rare).every((r) => !r.text.includes('rareword')));
});
