// Bounded BM25 search: exact words first, then their stem forms, filtered, with highlighted snippets for the page only.
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { validateCollection } from './ids.ts';
import { snippet } from './match.ts';
import type { Clause } from './match.ts';
import { parseQuery, toClauses, toStemmedClauses } from './query.ts';
import { bestMatches, cached } from './ranking.ts';
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
const DETAIL_SQL = `SELECT c.ordinal, c.heading, c.text, d.id AS docId, d.title, d.source, d.collection
  FROM kb_chunks c JOIN kb_docs d ON d.num = c.doc_num WHERE c.id = ?`;

interface Detail {
  ordinal: number;
  heading: string;
  text: string;
  docId: string;
  title: string;
  source: string;
  collection: string;
}

export function searchKnowledge(db: Db, query: string, opts: SearchOptions = {}): SearchResult[] {
  const terms = parseQuery(query);
  const mode = opts.mode ?? 'all';
  const collection = opts.collection === undefined || opts.collection === '' ? undefined : validateCollection(opts.collection);
  const tag = opts.tag === undefined || opts.tag === '' ? undefined : opts.tag;
  // A document whose chunks are still being written is left out until it is whole (rare: a large one, for seconds).
  const indexing = cached(db, 'SELECT 1 FROM kb_index_jobs LIMIT 1').pluck().get() !== undefined;
  const limit = clampInt(opts.limit, 10, 1, 100);
  const offset = clampInt(opts.offset, 0, 0, 10_000);
  const want = offset + limit;
  // Exact-word matches rank first; the stem forms are asked for only when they do not fill the page, since they
  // widen the query to more (and more common) words and would mostly return the same chunks.
  const ranked: { id: number; score: number; clauses: readonly Clause[] }[] = [];
  const seen = new Set<number>();
  const collect = (clauses: readonly Clause[], weight: number) => {
    for (const c of runFts(() => bestMatches(db, clauses, mode, { collection, tag, indexing }, want + seen.size))) {
      if (seen.has(c.id) || ranked.length >= want) continue;
      seen.add(c.id);
      ranked.push({ id: c.id, score: -c.rank * weight, clauses });
    }
  };
  collect(toClauses(terms, mode), 1);
  const stemmed = ranked.length < want ? toStemmedClauses(db, terms, mode) : null;
  if (stemmed) collect(stemmed, STEM_WEIGHT);
  const { open, close } = opts.highlight ?? { open: '**', close: '**' };
  return ranked.slice(offset).flatMap(({ id, score, clauses }) => {
    const d = cached(db, DETAIL_SQL).get(id) as Detail | undefined;
    if (!d) return [];
    return [
      {
        id: `${d.docId}#${d.ordinal}`,
        docId: d.docId,
        title: d.title,
        source: d.source,
        collection: d.collection,
        heading: d.heading,
        score: Math.round(score * 1e6) / 1e6,
        snippet: snippet(d.text, clauses, open, close),
        text: d.text,
      },
    ];
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
