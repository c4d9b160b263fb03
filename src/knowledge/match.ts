// Matching and BM25 scoring of query clauses against a few chunks in JavaScript, for terms too common to rank in FTS5.
import { foldWord } from './stems.ts';

/** One query term as FTS5 sees it (`expr`) and as token sequences any one of which satisfies it (`forms`). */
export interface Clause {
  expr: string;
  forms: string[][];
  prefix: boolean;
}

/** A chunk's indexed columns, in FTS5 column order. */
export interface ChunkColumns {
  title: string;
  heading: string;
  text: string;
}

// The FTS5 column weights (title, heading, text) and its bm25 constants; schema.ts sets the same weights.
const WEIGHTS = [4, 2, 1];
const K1 = 1.2;
const B = 0.75;

/** Words as the `unicode61 remove_diacritics 2` tokenizer cuts and folds them. */
export function tokenize(text: string): string[] {
  return foldWord(text)
    .split(/[^\p{L}\p{N}\p{Co}]+/u)
    .filter(Boolean);
}

/** How often a clause occurs in a column's tokens: a form's tokens in sequence, the last one as a prefix if asked. */
function occurrences(tokens: readonly string[], clause: Clause): number {
  let n = 0;
  for (const form of clause.forms) {
    if (form.length === 0) continue;
    for (let i = 0; i + form.length <= tokens.length; i++) {
      let ok = true;
      for (let j = 0; j < form.length && ok; j++) {
        const last = j === form.length - 1;
        ok = clause.prefix && last ? tokens[i + j].startsWith(form[j]) : tokens[i + j] === form[j];
      }
      if (ok) n++;
    }
  }
  return n;
}

export interface ScoredColumns {
  tokens: string[][];
  length: number;
}

export function columnsOf(c: ChunkColumns): ScoredColumns {
  const tokens = [tokenize(c.title), tokenize(c.heading), tokenize(c.text)];
  return { tokens, length: tokens.reduce((n, t) => n + t.length, 0) };
}

export function matchesClause(cols: ScoredColumns, clause: Clause): boolean {
  return cols.tokens.some((t) => occurrences(t, clause) > 0);
}

/**
 * FTS5's bm25 (same weights and constants) with each clause's document frequency given rather than counted, since
 * counting is exactly the full scan this path exists to avoid. Negative like FTS5's rank: lower is better.
 */
export function bm25(cols: ScoredColumns, clauses: readonly Clause[], docFreqs: readonly number[], rows: number, avgLength: number): number {
  let score = 0;
  clauses.forEach((clause, i) => {
    const idf = Math.max(1e-6, Math.log((rows - docFreqs[i] + 0.5) / (docFreqs[i] + 0.5)));
    const tf = cols.tokens.reduce((sum, t, c) => sum + WEIGHTS[c] * occurrences(t, clause), 0);
    score += (idf * (tf * (K1 + 1))) / (tf + K1 * (1 - B + (B * cols.length) / Math.max(1, avgLength)));
  });
  return -score;
}

/**
 * Up to `size` words of `text` around the most clause matches, matches wrapped in `open`/`close`, cuts marked with
 * `…` (what FTS5's snippet() gives, without another FTS5 query per result).
 */
export function snippet(text: string, clauses: readonly Clause[], open: string, close: string, size = 24): string {
  const words = [...text.matchAll(/[\p{L}\p{N}\p{Co}\p{M}]+/gu)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
  const folded = words.map((w) => foldWord(text.slice(w.start, w.end)));
  const hit = new Array<boolean>(words.length).fill(false);
  for (const clause of clauses) {
    for (const form of clause.forms) {
      for (let i = 0; form.length > 0 && i + form.length <= words.length; i++) {
        const ok = form.every((f, j) => (clause.prefix && j === form.length - 1 ? folded[i + j].startsWith(f) : folded[i + j] === f));
        if (ok) for (let j = 0; j < form.length; j++) hit[i + j] = true;
      }
    }
  }
  let first = 0;
  let best = -1;
  for (let start = 0, count = 0; start <= Math.max(0, words.length - size); start++) {
    count = hit.slice(start, start + size).filter(Boolean).length;
    if (count > best) {
      best = count;
      first = start;
    }
  }
  const last = Math.min(words.length, first + size);
  let out = first > 0 ? '…' : '';
  let at = first > 0 ? words[first].start : 0;
  for (let i = first; i < last; i++) {
    out += text.slice(at, words[i].start);
    const word = text.slice(words[i].start, words[i].end);
    out += hit[i] ? open + word + close : word;
    at = words[i].end;
  }
  return last < words.length ? `${out}…` : out + text.slice(at);
}
