// Bounded BM25 search: exact words first, then their stem forms, filtered, with highlighted snippets for the page only.
import type Database from 'better-sqlite3';
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { validateCollection } from './ids.ts';
import { parseQuery, toFtsExpression, toStemmedExpression } from './query.ts';
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

const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>();

function cached(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare<unknown[], unknown>(sql)));
  return s;
}

// Walks matches newest first without scoring them, which FTS5 does at a small fraction of bm25's cost.
const WINDOW_FLOOR_SQL = 'SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT 1 OFFSET ?';

function rankSql(filtered: { collection: boolean; tag: boolean }): string {
  if (!filtered.collection && !filtered.tag) {
    return 'SELECT rowid AS id, rank FROM kb_fts WHERE kb_fts MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rank LIMIT ?';
  }
  const where = ['kb_fts MATCH ?', 'f.rowid >= ?', 'f.rowid < ?'];
  if (filtered.collection) where.push('d.collection = ?');
  if (filtered.tag) where.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)');
  return `SELECT f.rowid AS id, f.rank AS rank FROM kb_fts f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num
    WHERE ${where.join(' AND ')} ORDER BY f.rank LIMIT ?`;
}

const DETAIL_SQL = `SELECT snippet(kb_fts, 2, ?, ?, '…', 24) AS snippet, c.ordinal, c.heading, c.text, d.id AS docId, d.title, d.source, d.collection
  FROM kb_fts f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num WHERE kb_fts MATCH ? AND f.rowid = ?`;

interface Candidate { id: number; rank: number }
interface Detail { snippet: string; ordinal: number; heading: string; text: string; docId: string; title: string; source: string; collection: string }
interface Filters { collection?: string; tag?: string }

/** The `want` best-ranked matches of `expr`, scoring whole windows of RANK_WINDOW matches, newest first, until `want` are found. */
function rankedMatches(db: Db, expr: string, filters: Filters, want: number): Candidate[] {
  const args = [filters.collection, filters.tag].filter((v) => v !== undefined);
  const rank = cached(db, rankSql({ collection: filters.collection !== undefined, tag: filters.tag !== undefined }));
  const floor = cached(db, WINDOW_FLOOR_SQL).pluck();
  const found: Candidate[] = [];
  for (let upper = Number.MAX_SAFE_INTEGER; found.length < want && upper > 0;) {
    const lower = (floor.get(expr, upper, RANK_WINDOW - 1) as number | undefined) ?? 0;
    found.push(...rank.all(expr, lower, upper, ...args, want) as Candidate[]);
    upper = lower;
  }
  return found.sort((a, b) => a.rank - b.rank).slice(0, want);
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
  const passes = [{ expr: toFtsExpression(terms, mode), weight: 1 }, { expr: toStemmedExpression(db, terms, mode), weight: STEM_WEIGHT }];
  const ranked: { id: number; score: number; expr: string }[] = [];
  const seen = new Set<number>();
  for (const { expr, weight } of passes) {
    if (expr === null || ranked.length >= want) continue;
    for (const c of runFts(() => rankedMatches(db, expr, { collection, tag }, want + seen.size))) {
      if (seen.has(c.id) || ranked.length >= want) continue;
      seen.add(c.id);
      ranked.push({ id: c.id, score: -c.rank * weight, expr });
    }
  }
  const { open, close } = opts.highlight ?? { open: '**', close: '**' };
  return ranked.slice(offset).flatMap(({ id, score, expr }) => {
    const d = runFts(() => cached(db, DETAIL_SQL).get(open, close, expr, id) as Detail | undefined);
    if (!d) return [];
    return [{
      id: `${d.docId}#${d.ordinal}`, docId: d.docId, title: d.title, source: d.source, collection: d.collection,
      heading: d.heading, score: Math.round(score * 1e6) / 1e6, snippet: d.snippet, text: d.text,
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
