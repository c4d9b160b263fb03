// Tokens that prompt normalization saved, counted with the real tokenizer over only the spans it changed.
import { countTokens } from '../core/tokens.ts';

const isBlank = (line: string) => /^[ \t]*$/.test(line);
const isSpace = (ch: string | undefined) => ch === ' ' || ch === '\t';

/**
 * The span of one changed line that tokenizes differently. Normalization only changes whitespace inside a line, so the two versions share a prefix and a
 * suffix; the window between them is widened to where a word ends before whitespace on both sides. Within a line the
 * tokenizer always starts a new piece there (no o200k/cl100k pre-token runs from a word into the space after it),
 * and pieces never merge, so the window's counts differ exactly as the whole lines' counts do. The windows of all
 * lines are then counted together, joined by the newlines that separated their lines.
 */
function lineWindows(before: string, after: string, into: { before: string[]; after: string[] }): void {
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
  into.before.push(before.slice(start, before.length - s + k));
  into.after.push(after.slice(start, after.length - s + k));
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
  const windows = { before: [] as string[], after: [] as string[] };
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
    if (j < a.length && b[i] !== a[j]) lineWindows(b[i], a[j], windows);
    i++;
    j++;
  }
  // All line windows in one tokenizer call per side (each call has a fixed cost): joined by newlines, as lines are.
  if (windows.before.length) saved += countTokens(windows.before.join('\n')) - countTokens(windows.after.join('\n'));
  return Math.max(0, saved);
}
