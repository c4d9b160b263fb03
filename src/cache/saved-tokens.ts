// Tokens that prompt normalization saved, counted with the real tokenizer over only the spans it changed.
import { countTokens } from '../core/tokens.ts';

const isBlank = (line: string) => /^[ \t]*$/.test(line);
const isSpace = (ch: string | undefined) => ch === ' ' || ch === '\t';

/**
 * One line's saving. Normalization only changes whitespace inside a line, so the two versions share a prefix and a
 * suffix; the window between them is widened to where a word ends before whitespace on both sides. Within a line the
 * tokenizer always starts a new piece there (no o200k/cl100k pre-token runs from a word into the space after it),
 * and pieces never merge, so the window's counts differ exactly as the whole lines' counts do.
 */
function lineSaving(before: string, after: string): number {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  let s = 0;
  while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  // Start: back to the first whitespace of the run at the first difference (a word ends just before it).
  let start = p;
  while (start > 0 && isSpace(before[start - 1])) start--;
  // End: forward through the common suffix past whitespace, then to the end of the next word.
  let k = 0;
  const at = (i: number) => before[before.length - s + i];
  while (k < s && isSpace(at(k))) k++;
  while (k < s && !isSpace(at(k))) k++;
  return countTokens(before.slice(start, before.length - s + k)) - countTokens(after.slice(start, after.length - s + k));
}

/** The newlines and blank lines between two content lines (or at an end of the text, where one side has none). */
function blankRun(lines: string[], hasPrev: boolean, hasNext: boolean): string {
  if (lines.length === 0) return hasPrev && hasNext ? '\n' : '';
  return `${hasPrev ? '\n' : ''}${lines.join('\n')}${hasNext ? '\n' : ''}`;
}

/** Tokens saved by normalizing `before` into `after`; lines left alone cost no tokenizer work. */
export function savedTokens(before: string, after: string): number {
  if (before === after) return 0;
  const b = before.split('\n');
  const a = after.split('\n');
  let saved = 0;
  let i = 0;
  let j = 0;
  while (i < b.length) {
    if (isBlank(b[i])) {
      // A blank run is kept, shortened to one empty line, or dropped (at either end): taken whole on both sides.
      const i0 = i;
      while (i < b.length && isBlank(b[i])) i++;
      const j0 = j;
      while (j < a.length && isBlank(a[j])) j++;
      const before = blankRun(b.slice(i0, i), i0 > 0, i < b.length);
      const after = blankRun(a.slice(j0, j), i0 > 0, i < b.length);
      if (before !== after) saved += countTokens(before) - countTokens(after);
      continue;
    }
    if (j < a.length && b[i] !== a[j]) saved += lineSaving(b[i], a[j]);
    i++;
    j++;
  }
  return Math.max(0, saved);
}
