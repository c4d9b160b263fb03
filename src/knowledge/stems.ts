// Stemmed recall without a second index: a query word becomes the inflected forms that share its Porter stem.
import type Database from 'better-sqlite3';
import type { Db } from '../core/database.ts';

// Regular English inflections and common derivations; a form only counts when the stemmer maps it back to the query's
// stem, so a wrong guess costs one empty term lookup in FTS5, never a wrong match.
// Most frequent first, since the list of forms is capped.
const SUFFIXES = [
  '',
  's',
  'es',
  'ed',
  'ing',
  'er',
  'ers',
  'e',
  'ly',
  'ies',
  'ied',
  'ion',
  'ions',
  'ation',
  'ations',
  'ment',
  'ments',
  'ness',
  'able',
  'al',
  'ive',
  'ity',
  'est',
  'ier',
  'iest',
  'ily',
  'iness',
  'ful',
  'ally',
  'ize',
  'ized',
  'izes',
  'izing',
  'ization',
  'ably',
  'ence',
  'ance',
  'ent',
  'ant',
];
const MAX_FORMS = 32;

/** Lower case without diacritics, as the FTS5 `unicode61 remove_diacritics 2` tokenizer folds words. */
export function foldWord(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const stemmers = new WeakMap<Db, Database.Statement<[string], { token: string; position: number }>>();

// SQLite's own Porter stemmer (the one FTS indexes use), reached through a per-connection temp table: no file changes.
function stemAll(db: Db, words: readonly string[]): string[] {
  let tokenize = stemmers.get(db);
  if (!tokenize) {
    db.exec('CREATE VIRTUAL TABLE IF NOT EXISTS temp.kb_stem USING fts3tokenize(porter)');
    stemmers.set(db, (tokenize = db.prepare('SELECT token, position FROM temp.kb_stem WHERE input = ?')));
  }
  const stems: string[] = [];
  for (const t of tokenize.all(words.join(' '))) stems[t.position] = t.token;
  return stems;
}

/**
 * The forms of `word` (itself first) whose Porter stem is the word's stem: `racing` gives race, races, raced, racing,
 * racer…. Words that are not plain ASCII letters are returned alone, since the stemmer only knows English.
 */
export function stemForms(db: Db, word: string): string[] {
  const w = foldWord(word);
  if (!/^[a-z]{3,}$/.test(w)) return [w];
  const [stem] = stemAll(db, [w]);
  const bases = new Set([stem, w]);
  if (stem.endsWith('e')) bases.add(stem.slice(0, -1));
  if (stem.endsWith('i')) {
    bases.add(stem.slice(0, -1));
    bases.add(`${stem.slice(0, -1)}y`);
  }
  if (/[^aeiou][aeiou][b-df-hj-np-tv-z]$/.test(stem)) bases.add(stem + stem.at(-1));
  const candidates = new Set<string>();
  for (const base of bases) {
    for (const suffix of SUFFIXES) {
      // `race` + `ing` is spelled `racing`, `happi` + `ily` is not a word: skip such clashing vowels.
      if ((base.endsWith('e') && /^[ei]/.test(suffix)) || (base.endsWith('i') && suffix.startsWith('i'))) continue;
      if (base + suffix !== w) candidates.add(base + suffix);
    }
  }
  const list = [...candidates];
  const stems = stemAll(db, list);
  return [w, ...list.filter((_, i) => stems[i] === stem)].slice(0, MAX_FORMS);
}

const probes = new WeakMap<Db, Database.Statement<[string], number>>();

/** `stemForms`, or the word alone when none of its other forms is in the index: that spares a second, empty search. */
export function indexedStemForms(db: Db, word: string): string[] {
  const forms = stemForms(db, word);
  if (forms.length === 1) return forms;
  let probe = probes.get(db);
  if (!probe) probes.set(db, (probe = db.prepare<[string], number>('SELECT 1 FROM kb_fts WHERE kb_fts MATCH ? LIMIT 1').pluck()));
  // Forms are plain ASCII letters (see stemForms), so quoting them is enough to keep them out of FTS5 syntax.
  return probe.get(
    forms
      .slice(1)
      .map((f) => `"${f}"`)
      .join(' OR '),
  ) === undefined
    ? forms.slice(0, 1)
    : forms;
}
