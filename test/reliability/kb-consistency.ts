// Checks a knowledge-base database after a crash: SQLite and FTS integrity, no half-applied document, op log matching the documents.
import assert from 'node:assert/strict';
import type { Db } from '../../src/core/database.ts';

const count = (db: Db, sql: string): number => db.prepare(sql).pluck().get() as number;

/** Throws an AssertionError naming the first inconsistency found. */
export function assertKnowledgeConsistent(db: Db): void {
  assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  // FTS5's own check compares each index with its content (the chunks); it throws on any difference.
  db.exec("INSERT INTO kb_fts(kb_fts) VALUES ('integrity-check');");
  const chunks = count(db, 'SELECT count(*) FROM kb_chunks');
  assert.equal(count(db, 'SELECT count(*) FROM kb_fts_docsize'), chunks, 'one FTS row per chunk');
  assert.equal(
    count(db, 'SELECT count(*) FROM kb_chunks c LEFT JOIN kb_docs d ON d.num = c.doc_num WHERE d.num IS NULL OR d.deleted = 1'),
    0,
    'chunks of missing or deleted documents',
  );

  // Each live document has exactly the chunks its winning op carries, and that op is the newest for its id.
  const docs = db.prepare('SELECT num, id, hash, hlc, deleted FROM kb_docs').all() as { num: number; id: string; hash: string; hlc: string; deleted: number }[];
  const newest = db.prepare('SELECT kind, payload, hlc FROM kb_ops WHERE doc_id = ? ORDER BY hlc DESC LIMIT 1');
  const chunksOf = db.prepare('SELECT count(*) FROM kb_chunks WHERE doc_num = ?').pluck();
  for (const d of docs) {
    const op = newest.get(d.id) as { kind: string; payload: string | null; hlc: string } | undefined;
    assert.ok(op, `document ${d.id} has no op`);
    assert.equal(op.hlc, d.hlc, `document ${d.id} is not at its newest op`);
    assert.equal(op.kind === 'delete', d.deleted === 1, `document ${d.id} deleted flag disagrees with its op`);
    if (op.kind === 'put') {
      const payload = JSON.parse(op.payload!) as { hash: string; chunks: unknown[] };
      assert.equal(payload.hash, d.hash, `document ${d.id} text differs from its op`);
      assert.equal(chunksOf.get(d.num), payload.chunks.length, `document ${d.id} chunk count`);
    }
  }
  // Every op's document exists (or was compacted away as a tombstone, which a fresh node never does).
  assert.equal(count(db, 'SELECT count(DISTINCT doc_id) FROM kb_ops WHERE doc_id NOT IN (SELECT id FROM kb_docs)'), 0, 'ops without a document');

  // The version vector: per origin, max_seq is the highest seq and there are no gaps below it.
  const vector = db.prepare('SELECT origin, max_seq FROM kb_version').all() as { origin: string; max_seq: number }[];
  const ops = db.prepare('SELECT origin, max(seq) AS top, count(*) AS n FROM kb_ops GROUP BY origin').all() as { origin: string; top: number; n: number }[];
  assert.deepEqual(vector.map((v) => [v.origin, v.max_seq]).sort(), ops.map((o) => [o.origin, o.top]).sort(), 'version vector vs op log');
  for (const o of ops) assert.equal(o.n, o.top, `origin ${o.origin} has gaps in its op log`);
}
