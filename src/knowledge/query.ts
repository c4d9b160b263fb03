// Turns a user's search text into an FTS5 expression in which every term is a quoted string, so no input is FTS5 syntax.
import type { Db } from '../core/database.ts';
import { ClientError } from '../core/errors.ts';
import { tokenize } from './match.ts';
import type { Clause } from './match.ts';
import { indexedStemForms } from './stems.ts';

export const MAX_QUERY_CHARS = 4096;
const MAX_TERMS = 64;
const WORDLIKE = /[\p{L}\p{N}]/u;
// Only for "any term" matching, where these would match nearly every chunk and drown the ranking.
const STOPWORDS = new Set(
  (
    'a an and are as at be but by for from has have how i in is it of on or that the this to was what when '
    + 'where which who why will with you your do does can could should would me my we our'
  ).split(' '),
);

export interface ParsedTerm {
  text: string;
  phrase: boolean;
  prefix: boolean;
}

/** Phrases in double quotes, `word*` prefixes, other words as-is; characters FTS5 treats as syntax never reach it unquoted. */
export function parseQuery(input: unknown): ParsedTerm[] {
  if (typeof input !== 'string' || input.trim() === '') throw new ClientError('Search query is empty', { param: 'q', code: 'empty_query' });
  if (input.length > MAX_QUERY_CHARS) {
    throw new ClientError(`Search query is longer than ${MAX_QUERY_CHARS} characters`, { param: 'q', code: 'query_too_long' });
  }
  const terms: ParsedTerm[] = [];
  const re = /"([^"]*)"?|(\S+)/g;
  for (let m = re.exec(input); m && terms.length < MAX_TERMS; m = re.exec(input)) {
    if (m[1] !== undefined) {
      if (WORDLIKE.test(m[1])) terms.push({ text: m[1], phrase: true, prefix: false });
      continue;
    }
    const prefix = /^[^*]*[\p{L}\p{N}]{2}\*$/u.test(m[2]);
    const text = m[2].replace(/\*+$/, '');
    if (WORDLIKE.test(text)) terms.push({ text, phrase: false, prefix });
  }
  if (terms.length === 0) throw new ClientError('Search query has no searchable words', { param: 'q', code: 'empty_query' });
  return terms;
}

/** The query's terms as clauses: all must match in `all` mode (search box), any in `any` mode (questions, for RAG). */
export function toClauses(terms: readonly ParsedTerm[], mode: 'all' | 'any' = 'all'): Clause[] {
  return contentTerms(terms, mode).map((t) => ({ expr: quote(t.text, t.prefix), forms: [tokenize(t.text)], prefix: t.prefix }));
}

/**
 * The clauses with each plain word widened to the forms sharing its stem (`racing` → race OR races OR raced…), or null
 * when no word has other forms. Phrases and prefixes stay exact: stems would change what they mean.
 */
export function toStemmedClauses(db: Db, terms: readonly ParsedTerm[], mode: 'all' | 'any' = 'all'): Clause[] | null {
  let widened = false;
  const clauses = contentTerms(terms, mode).map((t): Clause => {
    const forms = t.phrase || t.prefix || !/^[\p{L}\p{N}\p{M}]+$/u.test(t.text) ? [] : indexedStemForms(db, t.text);
    if (forms.length <= 1) return { expr: quote(t.text, t.prefix), forms: [tokenize(t.text)], prefix: t.prefix };
    widened = true;
    return { expr: `(${forms.map((f) => quote(f, false)).join(' OR ')})`, forms: forms.map((f) => [f]), prefix: false };
  });
  return widened ? clauses : null;
}

/** The FTS5 expression of clauses joined as the mode asks. */
export function toFtsExpression(clauses: readonly Clause[], mode: 'all' | 'any'): string {
  return clauses.map((c) => c.expr).join(mode === 'any' ? ' OR ' : ' AND ');
}

function quote(text: string, prefix: boolean): string {
  return `"${text.replace(/"/g, '""')}"${prefix ? '*' : ''}`;
}

function contentTerms(terms: readonly ParsedTerm[], mode: 'all' | 'any'): readonly ParsedTerm[] {
  if (mode === 'all') return terms;
  const content = terms.filter((t) => t.phrase || t.prefix || !STOPWORDS.has(t.text.toLowerCase()));
  return content.length > 0 ? content : terms;
}
