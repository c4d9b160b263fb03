// Finds the best matches of query clauses at bounded cost: FTS5 bm25 over windows of the newest matches, with clauses
// too common for bm25 filtering the candidates or ranking the newest matches in JavaScript instead.
import type Database from 'better-sqlite3';
import type { Db } from '../core/database.ts';
import { bm25, columnsOf, matchesClause } from './match.ts';
import type { ChunkColumns, Clause, ScoredColumns } from './match.ts';
import { toFtsExpression } from './query.ts';

// bm25 costs about 2 µs a row and FTS5 has no top-k shortcut, so a query matching more chunks than this scores the
// newest matches a window at a time, stopping once a page is full: a common word costs the same at 1M chunks as at 10k.
export const RANK_WINDOW = 1000;
// Before scoring, bm25 counts every chunk holding each clause (about 0.07 µs a chunk, on every query). A clause in
// more chunks than this may be kept out of bm25 instead: it filters the ranked candidates, or ranks the newest matches.
export const COMMON_DOCS = 20_000;
const COMMON_PREFIX_DOCS = 10_000;
const SAMPLE_ROWS = 1024;
const NEWEST_CANDIDATES = 100;
const KEEP_BATCH = 16;

const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>();

export function cached(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare<unknown[], unknown>(sql)));
  return s;
}

// better-sqlite3 binds JS numbers as REAL, and FTS5 only narrows its scan by an INTEGER rowid bound: a REAL one turns
// a seek into a scan of every match. Hence the casts on every rowid bound below.
const ROWID = 'CAST(? AS INTEGER)';

export interface Filters {
  collection?: string;
  tag?: string;
  /** Leave out documents whose chunks are still being written (set only while an index job exists). */
  indexing?: boolean;
}

const plain = (f: Filters): boolean => f.collection === undefined && f.tag === undefined && !f.indexing;

/** `SELECT <columns>` of FTS matches with the collection/tag filters joined in when present. */
function matchSql(columns: string, filters: Filters, where: string[], order: string): string {
  if (plain(filters)) {
    return `SELECT ${columns} FROM kb_fts f WHERE kb_fts MATCH ? AND ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`;
  }
  const all = ['kb_fts MATCH ?', ...where];
  if (filters.collection !== undefined) all.push('d.collection = ?');
  if (filters.tag !== undefined) all.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)');
  if (filters.indexing) all.push('NOT EXISTS (SELECT 1 FROM kb_index_jobs j WHERE j.doc_num = d.num)');
  return `SELECT ${columns} FROM kb_fts f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num
    WHERE ${all.join(' AND ')} ORDER BY ${order} LIMIT ?`;
}

const filterArgs = (f: Filters) => [f.collection, f.tag].filter((v) => v !== undefined);

// Walks matches newest first without scoring them, which FTS5 does at a small fraction of bm25's cost.
const WINDOW_FLOOR_SQL = `SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? AND rowid < ${ROWID} ORDER BY rowid DESC LIMIT 1 OFFSET ?`;
const SAMPLE_SQL = `SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? AND rowid > ${ROWID} ORDER BY rowid DESC`;
const CONTENT_SQL = 'SELECT id, title, heading, text FROM kb_chunk_content WHERE id IN (SELECT value FROM json_each(?))';
export interface Candidate {
  id: number;
  rank: number;
}

/** The indexed columns of chunks, read in one statement. */
function contentsOf(db: Db, ids: readonly number[]): Map<number, ScoredColumns> {
  const rows = cached(db, CONTENT_SQL).all(JSON.stringify(ids)) as (ChunkColumns & { id: number })[];
  return new Map(rows.map((r) => [r.id, columnsOf(r)]));
}

/**
 * The `want` best bm25 matches of `expr` that `keep` lets through, scoring windows of RANK_WINDOW matches newest
 * first until `want` are found. With `few` the caller expects fewer matches than a window, and no window is measured.
 */
function rankedMatches(db: Db, expr: string, filters: Filters, want: number, few = false, keep?: (ids: number[]) => Set<number>): Candidate[] {
  const rank = cached(db, matchSql('f.rowid AS id, f.rank AS rank', filters, [`f.rowid >= ${ROWID}`, `f.rowid < ${ROWID}`], 'f.rank'));
  const floor = cached(db, WINDOW_FLOOR_SQL).pluck();
  const found: Candidate[] = [];
  for (let upper = Number.MAX_SAFE_INTEGER; found.length < want && upper > 0; ) {
    const lower = few ? 0 : ((floor.get(expr, upper, RANK_WINDOW - 1) as number | undefined) ?? 0);
    const window = rank.all(expr, lower, upper, ...filterArgs(filters), keep ? RANK_WINDOW : want) as Candidate[];
    // Candidates are checked a batch at a time, best first, until this window has given a page.
    for (let at = 0, kept = 0; at < window.length && kept < want; at += KEEP_BATCH) {
      const batch = window.slice(at, at + KEEP_BATCH);
      const pass = keep?.(batch.map((c) => c.id));
      for (const c of batch)
        if (kept < want && (!pass || pass.has(c.id))) {
          found.push(c);
          kept++;
        }
    }
    upper = lower;
  }
  return found.sort((a, b) => a.rank - b.rank).slice(0, want);
}

/** Chunk count and the newest rows sampled to estimate how many chunks a clause is in. */
interface Corpus {
  rows: number;
  sampleFloor: number;
  sampleRows: number;
}

function corpusOf(db: Db): Corpus {
  const maxId = (cached(db, 'SELECT max(id) FROM kb_chunks').pluck().get() as number | null) ?? 0;
  const sampleFloor = Math.max(0, maxId - SAMPLE_ROWS);
  const sampleRows = cached(db, 'SELECT count(*) FROM kb_chunks WHERE id > ?').pluck().get(sampleFloor) as number;
  // Ids only grow, so the newest rows' share of live ids stands for the whole table's.
  return { rows: Math.round((maxId * sampleRows) / Math.max(1, maxId - sampleFloor)), sampleFloor, sampleRows };
}

/** A clause's matches among the newest rows (newest first) and the number of chunks it is estimated to be in. */
function sample(db: Db, expr: string, c: Corpus): { newest: number[]; docs: number } {
  const newest = cached(db, SAMPLE_SQL).pluck().all(expr, c.sampleFloor) as number[];
  return { newest, docs: Math.round((newest.length / Math.max(1, c.sampleRows)) * c.rows) };
}

/**
 * How many chunks clauses in these many chunks match together: the sum for any-term, and for all-terms the product of
 * their shares (as if independent) but no less than a twentieth of the rarest, since related words go together.
 */
function expectedMatches(docs: readonly number[], mode: 'all' | 'any', rows: number): number {
  if (mode === 'any') return docs.reduce((a, b) => a + b, 0);
  const rarest = Math.min(...docs);
  return Math.max(
    rarest / 20,
    docs.reduce((p, d) => p * (d / Math.max(1, rows)), rows),
  );
}

/** The newest matches, scored in JavaScript with the same bm25: no clause's matches are counted in full. */
function newestMatches(
  db: Db,
  clauses: readonly Clause[],
  docs: readonly number[],
  mode: 'all' | 'any',
  filters: Filters,
  want: number,
  corpus: Corpus,
  sampled: readonly number[] = [],
): Candidate[] {
  // A sparse match (a rare phrase of common words) is walked only as far as one page needs.
  const expected = expectedMatches(docs, mode, corpus.rows);
  const n = expected * (corpus.sampleRows / Math.max(1, corpus.rows)) >= want ? Math.max(want, NEWEST_CANDIDATES) : want;
  const rows = corpus.rows;
  // A lone unfiltered clause's sample already holds its newest matches: no second pass over its (maybe prefix) terms.
  const reuse = clauses.length === 1 && plain(filters) && sampled.length >= want;
  const ids = reuse
    ? sampled.slice(0, n)
    : (cached(db, matchSql('f.rowid AS id', filters, ['1'], 'f.rowid DESC'))
        .pluck()
        .all(toFtsExpression(clauses, mode), ...filterArgs(filters), n) as number[]);
  const cols = contentsOf(db, ids);
  const avg = [...cols.values()].reduce((sum, c) => sum + c.length, 0) / Math.max(1, cols.size);
  return ids
    .flatMap((id) => {
      const c = cols.get(id);
      return c ? [{ id, rank: bm25(c, clauses, docs, rows, avg) }] : [];
    })
    .sort((a, b) => a.rank - b.rank)
    .slice(0, want);
}

/** The best `want` matches of the clauses, keeping costly (common) clauses out of FTS5's bm25. */
export function bestMatches(db: Db, clauses: readonly Clause[], mode: 'all' | 'any', filters: Filters, want: number): Candidate[] {
  const corpus = corpusOf(db);
  if (corpus.rows <= COMMON_DOCS) return rankedMatches(db, toFtsExpression(clauses, mode), filters, want);
  const samples = clauses.map((c) => sample(db, c.expr, corpus));
  const docs = samples.map((s) => s.docs);
  // bm25 counts a phrase's matches by reading its every word's list, so a phrase costs what its commonest word does.
  const costs = clauses.map((c, i) =>
    c.forms.length === 1 && c.forms[0].length > 1 ? Math.max(docs[i], ...c.forms[0].map((w) => sample(db, `"${w}"`, corpus).docs)) : docs[i],
  );
  // Filtering by a clause instead reads about rows/docs candidates (some 60 µs each) per result: pick the cheaper. A
  // prefix is merged from all its words' lists by every statement that names it, so it leaves bm25 sooner.
  const limit = Math.max(COMMON_DOCS, Math.sqrt(want * corpus.rows * 900));
  const costly = (c: Clause, i: number) => costs[i] > (c.prefix ? COMMON_PREFIX_DOCS : limit);
  const ranking = clauses.filter((c, i) => !costly(c, i));
  const filtering = clauses.filter((c, i) => costly(c, i));
  // Measuring a window costs a walk over it; skip that when the estimate says all matches fit in one.
  const rankingDocs = docs.filter((_, i) => !costly(clauses[i], i));
  const few = expectedMatches(rankingDocs, mode, corpus.rows) < RANK_WINDOW / 2;
  if (filtering.length === 0 && (mode === 'all' || few)) return rankedMatches(db, toFtsExpression(clauses, mode), filters, want, few);
  if (ranking.length === 0) return newestMatches(db, clauses, docs, mode, filters, want, corpus, samples[0].newest);
  if (mode === 'all') {
    return rankedMatches(db, toFtsExpression(ranking, 'all'), filters, want, few, (ids) => {
      const cols = contentsOf(db, ids);
      return new Set(
        ids.filter((id) => {
          const c = cols.get(id);
          return c !== undefined && filtering.every((cl) => matchesClause(c, cl));
        }),
      );
    });
  }
  // Any-term mode: a window of the newest matches of all terms would be mostly the common ones' and miss a rare
  // term's older chunks, so the rarest terms (all of their matches) rank first, then the rest fill the page.
  const order = clauses.map((_, i) => i).sort((x, y) => docs[x] - docs[y]);
  const rare: Clause[] = [];
  for (let i = 0, sum = 0; i < order.length && (sum += docs[order[i]]) < RANK_WINDOW / 2; i++) rare.push(clauses[order[i]]);
  const first = rare.length > 0 ? rankedMatches(db, toFtsExpression(rare, 'any'), filters, want, true) : [];
  if (first.length >= want || rare.length === clauses.length) return first;
  const seen = new Set(first.map((c) => c.id));
  const rest =
    filtering.length > 0
      ? newestMatches(db, clauses, docs, mode, filters, want + seen.size, corpus)
      : rankedMatches(db, toFtsExpression(clauses, 'any'), filters, want + seen.size);
  return [...first, ...rest.filter((c) => !seen.has(c.id))].slice(0, want);
}
