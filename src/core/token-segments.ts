// Where a text may be cut for counting tokens piece by piece: where o200k's pre-tokenizer starts a new piece anyway.

/**
 * The longest run of one character class (letters, punctuation, whitespace) counted whole. gpt-tokenizer's cost on
 * one unbroken run grows with the square of its length (a 20,000-letter word takes ~0.2 s, 400,000 letters minutes);
 * cut into runs of this size it is linear (~1 µs a character at worst). Prose, code and JSON have no such runs, so
 * their counts stay exact; a longer run is counted as pieces of this size, a close estimate.
 */
export const MAX_RUN = 256;
/** Texts are counted in segments of about this size. */
export const SEGMENT = 512;
/** A segment with no cut in this many characters is cut anyway (a long run of digits and newlines, say). */
const MAX_SEGMENT = 4 * SEGMENT;

/** 0 whitespace, 1 letter (or mark), 2 digit, 3 anything else; ASCII from a table, the rest by Unicode class. */
const ASCII_CLASS = new Uint8Array(128).map((_, c) =>
  c === 32 || (c >= 9 && c <= 13) ? 0 : (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : c >= 48 && c <= 57 ? 2 : 3,
);
const UNICODE_CLASS = /(\s)|([\p{L}\p{M}])|(\p{N})/u;

function classOf(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return ASCII_CLASS[c];
  // A surrogate half counts as a letter: no cut is ever made between the halves of a pair.
  if (c >= 0xd800 && c <= 0xdfff) return 1;
  const m = UNICODE_CLASS.exec(text[i]);
  return !m ? 3 : m[1] ? 0 : m[2] ? 1 : 2;
}

/**
 * Whether o200k's pre-tokenizer starts a new piece at `i` whatever follows: after a letter followed by anything but
 * a letter, a mark or an apostrophe (`'s`, `'t`… join the word), and before a space or tab that follows a non-space. Pieces never merge, so the counts of the two sides add up to the count of the whole.
 */
function isCut(text: string, i: number, prev: number, cur: number): boolean {
  if (prev === 1) return cur !== 1 && text.charCodeAt(i) !== 39;
  return cur === 0 && prev !== 0 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9);
}

/** A forced cut moved off the middle of a surrogate pair. */
function onCodePoint(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff ? i + 1 : i;
}

/**
 * The end of the segment that starts at `start`: the last cut within SEGMENT characters; or, inexactly, MAX_RUN
 * characters into a longer run of one class, or MAX_SEGMENT characters on with no cut at all. One linear scan.
 */
export function segmentEnd(text: string, start: number): number {
  if (text.length - start <= MAX_RUN) return text.length;
  let cut = -1;
  let runStart = start;
  let prev = classOf(text, start);
  for (let i = start + 1; i < text.length; i++) {
    const cur = classOf(text, i);
    if (cur !== prev) {
      runStart = i;
      if (isCut(text, i, prev, cur)) cut = i;
    } else if (i - runStart >= MAX_RUN) {
      return onCodePoint(text, i);
    }
    prev = cur;
    if (i - start >= SEGMENT && cut > start) return cut;
    if (i - start >= MAX_SEGMENT) return onCodePoint(text, i);
  }
  return text.length;
}
