// BM25 search over both FTS indexes (exact words and porter stems), merged, filtered, with highlighted snippets.
import type Database from 'better-sqlite3';
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { validateCollection } from './ids.ts';
import { parseQuery, toFtsExpression, toWordsExpression } from './query.ts';
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
const INDEXES = ['kb_fts', 'kb_fts_porter'] as const;
type IndexName = (typeof INDEXES)[number];

const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>();

function cached(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare<unknown[], unknown>(sql)));
  return s;
}

function candidatesSql(index: IndexName, filtered: { collection: boolean; tag: boolean }): string {
  if (!filtered.collection && !filtered.tag) return `SELECT rowid AS id, rank FROM ${index} WHERE ${index} MATCH ? ORDER BY rank LIMIT ?`;
  const where = [`${index} MATCH ?`];
  if (filtered.collection) where.push('d.collection = ?');
  if (filtered.tag) where.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)');
  return `SELECT f.rowid AS id, f.rank AS rank FROM ${index} f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num
    WHERE ${where.join(' AND ')} ORDER BY f.rank LIMIT ?`;
}

function detailSql(index: IndexName): string {
  return `SELECT snippet(${index}, 2, ?, ?, '…', 24) AS snippet, c.ordinal, c.heading, c.text, d.id AS docId, d.title, d.source, d.collection
    FROM ${index} f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_docs d ON d.num = c.doc_num WHERE ${index} MATCH ? AND f.rowid = ?`;
}

interface Candidate { id: number; rank: number }
interface Detail { snippet: string; ordinal: number; heading: string; text: string; docId: string; title: string; source: string; collection: string }

export function searchKnowledge(db: Db, query: string, opts: SearchOptions = {}): SearchResult[] {
  const terms = parseQuery(query);
  const exprs: Record<IndexName, string | null> = {
    kb_fts: toFtsExpression(terms, opts.mode ?? 'all'),
    kb_fts_porter: toWordsExpression(terms, opts.mode ?? 'all'),
  };
  const collection = opts.collection === undefined || opts.collection === '' ? undefined : validateCollection(opts.collection);
  const tag = opts.tag === undefined || opts.tag === '' ? undefined : opts.tag;
  const limit = clampInt(opts.limit, 10, 1, 100);
  const offset = clampInt(opts.offset, 0, 0, 10_000);
  const want = offset + limit;
  const filterArgs = [collection, tag].filter((v) => v !== undefined);
  // Exact-word matches rank first; the stem index is asked only when they do not fill the page, since it is the
  // costlier half of a query on a common word and would mostly return the same chunks.
  const ranked: [number, { score: number; index: IndexName }][] = [];
  const seen = new Set<number>();
  for (const index of INDEXES) {
    const expr = exprs[index];
    if (expr === null || ranked.length >= want) continue;
    const weight = index === 'kb_fts' ? 1 : STEM_WEIGHT;
    const sql = candidatesSql(index, { collection: collection !== undefined, tag: tag !== undefined });
    for (const c of runFts(index, () => cached(db, sql).all(expr, ...filterArgs, want) as Candidate[])) {
      if (seen.has(c.id) || ranked.length >= want) continue;
      seen.add(c.id);
      ranked.push([c.id, { score: -c.rank * weight, index }]);
    }
  }
  ranked.splice(0, offset);
  const { open, close } = opts.highlight ?? { open: '**', close: '**' };
  return ranked.flatMap(([rowid, { score, index }]) => {
    const d = runFts(index, () => cached(db, detailSql(index)).get(open, close, exprs[index], rowid) as Detail | undefined);
    if (!d) return [];
    return [{
      id: `${d.docId}#${d.ordinal}`, docId: d.docId, title: d.title, source: d.source, collection: d.collection,
      heading: d.heading, score: Math.round(score * 1e6) / 1e6, snippet: d.snippet, text: d.text,
    }];
  });
}

// Expressions are built from quoted strings only, so an FTS5 error is a bug; still, never let SQLite's text out. The
// stem index only adds recall: if a term splits into more tokens than expected (a phrase it cannot match), skip it.
function runFts<T>(index: IndexName, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (index === 'kb_fts_porter' && err instanceof Error && /phrase queries are not supported/.test(err.message)) return [] as T;
    if (err instanceof Error && /fts5|syntax/i.test(err.message)) {
      throw new ClientError('Search query could not be parsed', { param: 'q', code: 'invalid_query' });
    }
    throw err;
  }
}
