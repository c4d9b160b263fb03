// Keeps the op log and the documents bounded: tombstones past the horizon are forgotten, superseded ops lose their content.
import type { Db } from '../core/database.ts';
import { encodeHlc } from '../oplog/index.ts';
import type { VersionVector } from './ops.ts';

/**
 * Forgets tombstones older than `before` (epoch ms) that every given peer vector covers, and drops the content of
 * superseded ops older than that (the op rows stay, so sequences have no gaps).
 */
export function compactTombstones(db: Db, before: number, peersVectors: readonly VersionVector[]): { tombstones: number; ops: number } {
  const cutoff = encodeHlc({ wall: Math.max(0, before), counter: 0, origin: '' });
  const covered = (origin: string, seq: number) => peersVectors.every((v) => (v[origin] ?? 0) >= seq);
  return db.transaction(() => {
    let tombstones = 0;
    let ops = 0;
    // A tombstone whose old chunks a job still removes keeps its row (and so its number) until the job is done.
    const dead = db
      .prepare<[string], { num: number; id: string; hlc: string }>(
        'SELECT num, id, hlc FROM kb_docs d WHERE deleted = 1 AND hlc < ? AND NOT EXISTS (SELECT 1 FROM kb_index_jobs j WHERE j.doc_num = d.num)',
      )
      .all(cutoff);
    const opOf = db.prepare<[string, string], { origin: string; seq: number }>('SELECT origin, seq FROM kb_ops WHERE doc_id = ? AND hlc = ?');
    const drop = db.prepare('DELETE FROM kb_docs WHERE num = ?');
    for (const d of dead) {
      const op = opOf.get(d.id, d.hlc);
      if (op && !covered(op.origin, op.seq)) continue;
      drop.run(d.num);
      tombstones++;
    }
    const superseded = db
      .prepare<[string], { origin: string; seq: number }>(`
      SELECT origin, seq FROM kb_ops o WHERE o.payload IS NOT NULL AND o.kind = 'put' AND o.hlc < ?
        AND EXISTS (SELECT 1 FROM kb_ops n WHERE n.doc_id = o.doc_id AND n.hlc > o.hlc)`)
      .all(cutoff);
    const strip = db.prepare('UPDATE kb_ops SET payload = NULL WHERE origin = ? AND seq = ?');
    for (const o of superseded) {
      if (!covered(o.origin, o.seq)) continue;
      strip.run(o.origin, o.seq);
      ops++;
    }
    return { tombstones, ops };
  })();
}
