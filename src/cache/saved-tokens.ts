// Tokens that prompt normalization saved, counted with the real tokenizer over only the spans it changed.
import { countTokens, TokenBudget } from '../core/tokens.ts';
import { isBlankLine } from './normalize.ts';

const isSpace = (ch: string | undefined) => ch === ' ' || ch === '\t';

/** Comparing two 256-character slices is one memcmp; a character at a time it is 256 loop turns. */
const BLOCK = 256;

/** Length of the longest common prefix of `a` and `b`. */
function commonPrefix(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  let p = 0;
  while (p + BLOCK <= shorter && a.slice(p, p + BLOCK) === b.slice(p, p + BLOCK)) p += BLOCK;
  while (p < shorter && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  return p;
}

/** Length of the longest common suffix of `a` and `b`, at most `limit` (so that it does not overlap a prefix). */
function commonSuffix(a: string, b: string, limit: number): number {
  const tail = (text: string, from: number) => text.slice(text.length - from - BLOCK, text.length - from);
  let q = 0;
  while (q + BLOCK <= limit && tail(a, q) === tail(b, q)) q += BLOCK;
  while (q < limit && a.charCodeAt(a.length - 1 - q) === b.charCodeAt(b.length - 1 - q)) q++;
  return q;
}

/**
 * The span of one changed line that tokenizes differently. Normalization only changes whitespace inside a line, so
 * the two versions share a prefix and a suffix; the window between them is widened to where a word ends before
 * whitespace on both sides. Within a line the tokenizer always starts a new piece there (no o200k/cl100k pre-token
 * runs from a word into the space after it), and pieces never merge, so the window's counts differ exactly as the whole lines' counts do. The windows of all
 * lines are then counted together, joined by the newlines that separated their lines.
 */
function lineWindows(before: string, after: string, into: { before: string[]; after: string[] }): void {
  const p = commonPrefix(before, after);
  const s = commonSuffix(before, after, Math.min(before.length, after.length) - p);
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

/**
 * The span of both texts that holds every change, as whole lines: their common head and tail are cut at line ends
 * outside any blank-line run (a run is always taken whole), so a long prompt with one tidied line is not walked line
 * by line.
 */
function changedSpan(before: string, after: string): { start: number; endBefore: number; endAfter: number } {
  const p = commonPrefix(before, after);
  let start = p === 0 ? 0 : before.lastIndexOf('\n', p - 1) + 1;
  while (start > 0) {
    const prevStart = start < 2 ? 0 : before.lastIndexOf('\n', start - 2) + 1;
    if (!isBlankLine(before.slice(prevStart, start - 1))) break;
    start = prevStart;
  }
  const q = commonSuffix(before, after, Math.min(before.length, after.length) - start);
  const lineEnd = (from: number) => {
    const n = before.indexOf('\n', from);
    return n < 0 ? before.length : n;
  };
  let end = lineEnd(before.length - q);
  while (end < before.length) {
    const next = lineEnd(end + 1);
    if (!isBlankLine(before.slice(end + 1, next))) break;
    end = next;
  }
  return { start, endBefore: end, endAfter: after.length - (before.length - end) };
}

/**
 * Tokens saved by normalizing `before` into `after`; lines left alone cost no tokenizer work. Pass one budget for
 * all the texts of a request: past it, the saving is estimated and the event loop is not held.
 */
export function savedTokens(before: string, after: string, budget = new TokenBudget()): number {
  if (before === after) return 0;
  const { start, endBefore, endAfter } = changedSpan(before, after);
  return savedInLines(before.slice(start, endBefore).split('\n'), after.slice(start, endAfter).split('\n'), start > 0, endBefore < before.length, budget);
}

/**
 * The saving over whole lines of both texts; `textBefore`/`textAfter` say whether unchanged content lines precede or
 * follow them (exported for the test that checks the span cut against the whole texts).
 */
export function savedInLines(b: string[], a: string[], textBefore: boolean, textAfter: boolean, budget = new TokenBudget()): number {
  let saved = 0;
  const windows = { before: [] as string[], after: [] as string[] };
  let i = 0;
  let j = 0;
  while (i < b.length) {
    if (isBlankLine(b[i])) {
      // A blank run is kept, shortened to one empty line, or dropped (at either end): taken whole on both sides.
      const i0 = i;
      while (i < b.length && isBlankLine(b[i])) i++;
      const j0 = j;
      while (j < a.length && isBlankLine(a[j])) j++;
      let same = i - i0 === j - j0;
      for (let n = 0; same && n < i - i0; n++) same = b[i0 + n] === a[j0 + n];
      const hasPrev = i0 > 0 || textBefore;
      const hasNext = i < b.length || textAfter;
      if (!same) saved += countTokens(blankRun(b.slice(i0, i), hasPrev, hasNext), budget) - countTokens(blankRun(a.slice(j0, j), hasPrev, hasNext), budget);
      continue;
    }
    if (j < a.length && b[i] !== a[j]) lineWindows(b[i], a[j], windows);
    i++;
    j++;
  }
  // All line windows in one tokenizer call per side (each call has a fixed cost): joined by newlines, as lines are.
  if (windows.before.length) saved += countTokens(windows.before.join('\n'), budget) - countTokens(windows.after.join('\n'), budget);
  return Math.max(0, saved);
}
