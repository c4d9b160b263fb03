// Bounded BM25 search: exact words first, then their stem forms, filtered, with highlighted snippets for the page only.
import type Database from 'better-sqlite3';
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { validateCollection } from './ids.ts';
import { bm25, columnsOf, matchesClause, snippet } from './match.ts';
import type { ChunkColumns, Clause } from './match.ts';
import { parseQuery, toClauses, toFtsExpression, toStemmedClauses } from './query.ts';
import { clampInt } from './reads.ts';

export interface SearchOptions {
  collection?: string;
  tag?: string;
  limit?: number;
  offset?: number;
  /** `all` (default) requires every term; `any` ranks chunks matching some of them. */
  mode?: 'all' | 'any';
  /** Markers around matched words in snippets; Markdown bold by default. */
  highlight?: { open: string; close: string };
}

export interface SearchResult {
  /** Chunk id, stable on every node: `<docId>#<ordinal>`. */
  id: string;
  docId: string;
  title: string;
  source: string;
  collection: string;
  heading: string;
  /** Higher is better; exact-word matches come before stem-only ones whatever their scores. */
  score: number;
  snippet: string;
  text: string;
}

// Scores of stem-only matches are scaled down so they read as weaker than exact ones.
const STEM_WEIGHT = 0.5;
// bm25 costs about 2 µs a row and FTS5 has no top-k shortcut, so a query matching more chunks than this scores the
// newest matches a window at a time, stopping once a page is full: a common word costs the same at 1M chunks as at 10k.
export const RANK_WINDOW = 2000;
// Before scoring, bm25 counts every chunk holding each clause (about 0.07 µs a chunk, on every query). A clause whose
// words are in more chunks than this is kept out of bm25: it filters the ranked candidates, or ranks the newest matches.
export const COMMON_DOCS = 20_000;
const SAMPLE_ROWS = 1024;
const NEWEST_CANDIDATES = 100;

const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>();

function cached(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare<unknown[], unknown>(sql)));
  return s;
}

// better-sqlite3 binds JS numbers as REAL, and FTS5 only narrows its scan by an INTEGER rowid bound: a REAL one turns
// a seek into a scan of every match. Hence the casts on every rowid bound below.
const ROWID = 'CAST(? AS INTEGER)';

interface Filters { collection?: string; tag?: string }

/** `SELECT <columns>` of FTS matches with the collection/tag filters joined in when present. */
function matchSql(columns: string, filters: Filters, where: string[], order: string): string {
  if (filters.collection === undefined && filters.tag === undefined) {
    return `SELECT ${columns} FROM kb_fts f WHERE kb_fts MATCH ? AND ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`;
  }
  const all = ['kb_fts MATCH ?', ...where];
  if (filters.collection !== undefined) all.push('d.collection = ?');
  if (filters.tag !== undefined) all.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)');
  return `SELECT ${columns} FROM kb_fts f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num
    WHERE ${all.join(' AND ')} ORDER BY ${order} LIMIT ?`;
}

const filterArgs = (f: Filters) => [f.collection, f.tag].filter((v) => v !== undefined);

// Walks matches newest first without scoring them, which FTS5 does at a small fraction of bm25's cost.
const WINDOW_FLOOR_SQL = `SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? AND rowid < ${ROWID} ORDER BY rowid DESC LIMIT 1 OFFSET ?`;
const SAMPLE_SQL = `SELECT count(*) FROM kb_fts WHERE kb_fts MATCH ? AND rowid > ${ROWID}`;
const CONTENT_SQL = 'SELECT title, heading, text FROM kb_chunk_content WHERE id = ?';
const DETAIL_SQL = `SELECT c.ordinal, c.heading, c.text, d.id AS docId, d.title, d.source, d.collection
  FROM kb_chunks c JOIN kb_docs d ON d.num = c.doc_num WHERE c.id = ?`;

interface Candidate { id: number; rank: number }
interface Detail { ordinal: number; heading: string; text: string; docId: string; title: string; source: string; collection: string }

/**
 * The `want` best bm25 matches of `expr` that `accept` keeps, scoring windows of RANK_WINDOW matches newest first
 * until `want` are found.
 */
function rankedMatches(db: Db, expr: string, filters: Filters, want: number, accept?: (id: number) => boolean): Candidate[] {
  const rank = cached(db, matchSql('f.rowid AS id, f.rank AS rank', filters, [`f.rowid >= ${ROWID}`, `f.rowid < ${ROWID}`], 'f.rank'));
  const floor = cached(db, WINDOW_FLOOR_SQL).pluck();
  const found: Candidate[] = [];
  for (let upper = Number.MAX_SAFE_INTEGER; found.length < want && upper > 0;) {
    const lower = (floor.get(expr, upper, RANK_WINDOW - 1) as number | undefined) ?? 0;
    let kept = 0;
    for (const c of rank.all(expr, lower, upper, ...filterArgs(filters), accept ? RANK_WINDOW : want) as Candidate[]) {
      if (kept >= want) break;
      if (accept && !accept(c.id)) continue;
      found.push(c);
      kept++;
    }
    upper = lower;
  }
  return found.sort((a, b) => a.rank - b.rank).slice(0, want);
}

/** Chunk count and the newest rows sampled to estimate how many chunks a clause is in. */
interface Corpus { rows: number; sampleFloor: number; sampleRows: number }

function corpusOf(db: Db): Corpus {
  const maxId = (cached(db, 'SELECT max(id) FROM kb_chunks').pluck().get() as number | null) ?? 0;
  const sampleFloor = Math.max(0, maxId - SAMPLE_ROWS);
  const sampleRows = cached(db, 'SELECT count(*) FROM kb_chunks WHERE id > ?').pluck().get(sampleFloor) as number;
  // Ids only grow, so the newest rows' share of live ids stands for the whole table's.
  return { rows: Math.round((maxId * sampleRows) / Math.max(1, maxId - sampleFloor)), sampleFloor, sampleRows };
}

function estimateDocs(db: Db, expr: string, c: Corpus): number {
  const hits = cached(db, SAMPLE_SQL).pluck().get(expr, c.sampleFloor) as number;
  return Math.round((hits / Math.max(1, c.sampleRows)) * c.rows);
}

/** The newest matches, scored in JavaScript with the same bm25: no clause's matches are counted in full. */
function newestMatches(db: Db, clauses: readonly Clause[], docs: readonly number[], mode: 'all' | 'any', filters: Filters,
  want: number, rows: number): Candidate[] {
  const sql = matchSql('f.rowid AS id', filters, ['1'], 'f.rowid DESC');
  const ids = cached(db, sql).pluck().all(toFtsExpression(clauses, mode), ...filterArgs(filters), Math.max(want, NEWEST_CANDIDATES)) as number[];
  const cols = ids.map((id) => columnsOf(cached(db, CONTENT_SQL).get(id) as ChunkColumns));
  const avg = cols.reduce((n, c) => n + c.length, 0) / Math.max(1, cols.length);
  return ids.map((id, i) => ({ id, rank: bm25(cols[i], clauses, docs, rows, avg) })).sort((a, b) => a.rank - b.rank).slice(0, want);
}

/** The best `want` matches of the clauses, keeping costly (common) clauses out of FTS5's bm25. */
function bestMatches(db: Db, clauses: readonly Clause[], mode: 'all' | 'any', filters: Filters, want: number): Candidate[] {
  const corpus = corpusOf(db);
  if (corpus.rows <= COMMON_DOCS) return rankedMatches(db, toFtsExpression(clauses, mode), filters, want);
  const docs = clauses.map((c) => estimateDocs(db, c.expr, corpus));
  // A phrase costs bm25 the chunks holding any of its words, not only those holding the phrase.
  const costs = clauses.map((c, i) => (c.forms.length === 1 && c.forms[0].length > 1
    ? Math.max(...c.forms[0].map((w) => estimateDocs(db, `"${w}"`, corpus))) : docs[i]));
  const cheap = clauses.filter((_, i) => costs[i] <= COMMON_DOCS);
  const costly = clauses.filter((_, i) => costs[i] > COMMON_DOCS);
  if (costly.length === 0) return rankedMatches(db, toFtsExpression(clauses, mode), filters, want);
  if (cheap.length === 0) return newestMatches(db, clauses, docs, mode, filters, want, corpus.rows);
  if (mode === 'all') {
    const content = cached(db, CONTENT_SQL);
    return rankedMatches(db, toFtsExpression(cheap, 'all'), filters, want,
      (id) => { const cols = columnsOf(content.get(id) as ChunkColumns); return costly.every((c) => matchesClause(cols, c)); });
  }
  // Any-term mode: the rarer terms rank; chunks with only common ones follow if the page is not full.
  const ranked = rankedMatches(db, toFtsExpression(cheap, 'any'), filters, want);
  if (ranked.length >= want) return ranked;
  const seen = new Set(ranked.map((c) => c.id));
  const rest = newestMatches(db, clauses, docs, mode, filters, want + seen.size, corpus.rows).filter((c) => !seen.has(c.id));
  return [...ranked, ...rest].slice(0, want);
}

export function searchKnowledge(db: Db, query: string, opts: SearchOptions = {}): SearchResult[] {
  const terms = parseQuery(query);
  const mode = opts.mode ?? 'all';
  const collection = opts.collection === undefined || opts.collection === '' ? undefined : validateCollection(opts.collection);
  const tag = opts.tag === undefined || opts.tag === '' ? undefined : opts.tag;
  const limit = clampInt(opts.limit, 10, 1, 100);
  const offset = clampInt(opts.offset, 0, 0, 10_000);
  const want = offset + limit;
  // Exact-word matches rank first; the stem forms are asked for only when they do not fill the page, since they
  // widen the query to more (and more common) words and would mostly return the same chunks.
  const ranked: { id: number; score: number; clauses: readonly Clause[] }[] = [];
  const seen = new Set<number>();
  for (const [weight, clauses] of [[1, toClauses(terms, mode)], [STEM_WEIGHT, null]] as const) {
    const pass = weight === 1 ? clauses : ranked.length < want ? toStemmedClauses(db, terms, mode) : null;
    if (pass === null) continue;
    for (const c of runFts(() => bestMatches(db, pass, mode, { collection, tag }, want + seen.size))) {
      if (seen.has(c.id) || ranked.length >= want) continue;
      seen.add(c.id);
      ranked.push({ id: c.id, score: -c.rank * weight, clauses: pass });
    }
  }
  const { open, close } = opts.highlight ?? { open: '**', close: '**' };
  return ranked.slice(offset).flatMap(({ id, score, clauses }) => {
    const d = cached(db, DETAIL_SQL).get(id) as Detail | undefined;
    if (!d) return [];
    return [{
      id: `${d.docId}#${d.ordinal}`, docId: d.docId, title: d.title, source: d.source, collection: d.collection,
      heading: d.heading, score: Math.round(score * 1e6) / 1e6, snippet: snippet(d.text, clauses, open, close), text: d.text,
    }];
  });
}

// Expressions are built from quoted strings only, so an FTS5 error is a bug; still, never let SQLite's text out.
function runFts<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof Error && /fts5|syntax/i.test(err.message)) {
      throw new ClientError('Search query could not be parsed', { param: 'q', code: 'invalid_query' });
    }
    throw err;
  }
}
