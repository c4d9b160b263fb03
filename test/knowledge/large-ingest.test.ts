// Large documents never hold the event loop: a document at the 16 MiB limit posted over HTTP is prepared in the
// knowledge worker and indexed in slices, measured with the event-loop delay histogram while it happens. Searches
// skip it until it is whole, and an index job cut short by a crash is finished when the store opens again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore, MAX_DOCUMENT_BYTES } from '../../src/knowledge/index.ts';
import { watchEventLoop } from '../event-loop-watch.ts';
import { startTestNode, tempDir } from '../helpers.ts';

/**
 * While a 16 MiB document is written and indexed: the most CPU the main thread may spend without yielding, and the
 * longest event-loop delay. Before, one task held it 2–3 s on this machine kind (parsing, chunking and indexing the
 * whole document); now the longest is the operation's one SQLite write (60–100 ms) and the delay 70–270 ms, more when
 * other tests load the cores. The delay bound is generous for a loaded CI machine; the figures are printed.
 */
const MAX_BUSY_MS = 250;
const MAX_DELAY_MS = 1_500;

/** About `bytes` of headed prose, as a long manual would be; `marker` appears in its first and last sections only. */
function manual(bytes: number, marker: string): string {
  const first = `## First\n\nThe ${marker} hangs by the door.\n\n`;
  const last = `\n\n## Last\n\nThe ${marker} is kept in the office.\n`;
  const parts: string[] = [first];
  for (let i = 0, size = first.length; size < bytes; i++) {
    const s = `## Procedure ${i}\n\nClose valve ${i % 17} before the pump in bay ${i % 23} is serviced; log the pressure. `.repeat(3) + '\n\n';
    parts.push(s);
    size += s.length;
  }
  return parts.join('').slice(0, bytes - last.length) + last;
}

async function search(baseURL: string, q: string): Promise<number> {
  const res = await fetch(`${baseURL}/kb/search?q=${encodeURIComponent(q)}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: unknown[] }).data.length;
}

test('a document at the 16 MiB body limit posted over HTTP is written and indexed without holding the event loop, and is searchable once whole', {
  timeout: 120_000,
}, async (t) => {
  const node = await startTestNode('chains:\n  default:\n    - { provider: knowledge, name: offline }\n');
  try {
    // As large as fits the 16 MiB body limit once JSON-escaped.
    const text = manual(MAX_DOCUMENT_BYTES - 512 * 1024, 'brass key');
    const body = Buffer.from(JSON.stringify({ id: 'plant:manual', collection: 'plant', title: 'Plant manual', format: 'markdown', text }));
    const store = node.node.knowledge!;
    const watch = watchEventLoop();
    const started = performance.now();
    const res = await fetch(`${node.baseURL}/kb/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 201, await res.clone().text());
    const written = performance.now() - started;
    // Answered once stored; its chunks are written afterwards, in slices between other work.
    assert.ok(store.indexing(), 'indexed before the answer, in one go');
    // Stored at once, searchable only once every chunk is indexed: never half of it.
    const listed = (await (await fetch(`${node.baseURL}/kb/documents?collection=plant`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      listed.data.map((d) => d.id),
      ['plant:manual'],
    );
    let seenWhileIndexing = 0;
    let searchedWhileIndexing = 0;
    while (store.indexing()) {
      const found = await search(node.baseURL, 'brass key');
      // Counted only when the job was still running once the answer came back, so it ran during the search.
      if (store.indexing()) {
        searchedWhileIndexing++;
        seenWhileIndexing += found;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(searchedWhileIndexing > 0, 'no search ran while the document was being indexed');
    const { maxDelayMs, maxBusyMs } = watch.stop();
    t.diagnostic(
      `written in ${Math.round(written)} ms, indexed after ${Math.round(performance.now() - started)} ms; `
        + `main thread busy at most ${maxBusyMs.toFixed(1)} ms between turns, event loop delayed at most ${maxDelayMs.toFixed(1)} ms`,
    );
    assert.equal(seenWhileIndexing, 0, 'a search found the document before it was whole');
    assert.equal(await search(node.baseURL, 'brass key'), 2, 'its first and last chunks');
    assert.ok(maxBusyMs < MAX_BUSY_MS, `the main thread was busy ${maxBusyMs.toFixed(0)} ms without yielding`);
    assert.ok(maxDelayMs < MAX_DELAY_MS, `the event loop was held ${maxDelayMs.toFixed(0)} ms`);
  } finally {
    await node.stop();
  }
});

test('an index job cut short (a crash between slices) is finished where it stopped when the store opens again', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'kb.db');
    let db = openDatabase(file);
    let store = new KnowledgeStore(db, 'origin-a');
    const text = manual(4 * 1024 * 1024, 'copper seal');
    store.put({ id: 'plant:manual', collection: 'plant', text });
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    // The process "dies" part-way: the document and some slices are committed, the job row says how far it got.
    while (count('SELECT count(*) FROM kb_chunks') === 0) await new Promise((r) => setImmediate(r));
    await store.stop();
    const partial = count('SELECT count(*) FROM kb_chunks');
    assert.ok(partial > 0 && count('SELECT count(*) FROM kb_index_jobs') === 1, `${partial} chunks written before the crash`);
    db.close();
    db = openDatabase(file);
    store = new KnowledgeStore(db, 'origin-a');
    assert.equal(store.search('copper seal').length, 0, 'not searchable while half indexed');
    await store.indexed();
    assert.equal(store.search('copper seal').length, 2);
    assert.equal(count('SELECT count(*) FROM kb_index_jobs'), 0);
    // Every chunk once: the job resumed where it stopped, not from the start.
    assert.equal(count('SELECT count(*) FROM kb_chunks'), count('SELECT count(DISTINCT ordinal) FROM kb_chunks'));
    db.exec("INSERT INTO kb_fts(kb_fts, rank) VALUES ('integrity-check', 1)");
    // Replaced by a small version while large: the old chunks go, the new ones come, nothing of the old stays found.
    store.put({ id: 'plant:manual', collection: 'plant', text: 'A short note about the pump.' });
    await store.indexed();
    assert.equal(store.search('copper seal').length, 0);
    assert.equal(store.search('short note pump').length, 1);
    assert.equal(db.prepare('SELECT count(*) FROM kb_chunks').pluck().get(), 1);
    await store.stop();
    db.close();
  } finally {
    dir.remove();
  }
});

test('a large document replaced or deleted while its chunks are being written ends with only what the last write says', async () => {
  const db = openDatabase(':memory:');
  try {
    const store = new KnowledgeStore(db, 'origin-a');
    const chunks = () => db.prepare('SELECT count(*) FROM kb_chunks').pluck().get() as number;
    store.put({ id: 'plant:manual', collection: 'plant', text: manual(2 * 1024 * 1024, 'copper seal') });
    // Replaced by another large version before the first is indexed: its chunks never show up.
    store.put({ id: 'plant:manual', collection: 'plant', title: 'Second edition', text: manual(1024 * 1024, 'iron gate') });
    await store.indexed();
    assert.equal(store.search('copper seal').length, 0);
    assert.equal(store.search('iron gate').length, 2);
    const indexed = chunks();
    // Replaced again, then deleted half-way through: nothing of it stays in the index.
    store.put({ id: 'plant:manual', collection: 'plant', text: manual(2 * 1024 * 1024, 'zinc plate') });
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(store.indexing());
    assert.equal(store.remove('plant:manual'), true);
    await store.indexed();
    assert.equal(chunks(), 0, `${indexed} chunks before, some left after the delete`);
    assert.equal(store.search('zinc plate').length + store.search('iron gate').length, 0);
    // The FTS index holds exactly what the chunk rows say (an unindexed leftover would fail the integrity check).
    db.exec("INSERT INTO kb_fts(kb_fts, rank) VALUES ('integrity-check', 1)");
    await store.stop();
  } finally {
    db.close();
  }
});
