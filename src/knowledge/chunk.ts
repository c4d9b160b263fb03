// Splits text into overlapping chunks by headings and paragraphs under a token budget; chunks are spans of the text.
import { countTokens } from '../core/tokens.ts';

/** A chunk is a `[start, end)` slice of its document's text plus the heading path it sits under. */
export interface ChunkSpan {
  heading: string;
  start: number;
  end: number;
}

export interface ChunkOptions {
  /** Most tokens in a chunk (o200k tokens). */
  maxTokens?: number;
  /** Tokens of trailing context repeated at the start of the next chunk in the same section. */
  overlapTokens?: number;
  /** Treat `#` lines as headings (Markdown). */
  markdown?: boolean;
}

interface Piece {
  start: number;
  end: number;
  tokens: number;
}

// About 4 characters per token for prose: exact counts only where a piece might not fit on its own.
function estimate(text: string): number {
  return Math.ceil(text.length / 4);
}

function tokensOf(text: string, budget: number): number {
  const rough = estimate(text);
  return rough * 2 < budget ? rough : countTokens(text);
}

export function chunkText(text: string, opts: ChunkOptions = {}): ChunkSpan[] {
  const maxTokens = opts.maxTokens ?? 400;
  const overlap = Math.min(opts.overlapTokens ?? 40, Math.floor(maxTokens / 4));
  const chunks: ChunkSpan[] = [];
  for (const section of sections(text, opts.markdown ?? false)) {
    const pieces: Piece[] = [];
    for (const p of paragraphs(text, section.start, section.end)) {
      pieces.push(...splitLong(text, p, maxTokens - overlap));
    }
    pack(text, pieces, maxTokens, overlap, section.heading, chunks);
  }
  return chunks;
}

interface Section {
  heading: string;
  start: number;
  end: number;
}

function sections(text: string, markdown: boolean): Section[] {
  if (!markdown) return [{ heading: '', start: 0, end: text.length }];
  const out: Section[] = [];
  const path: string[] = [];
  let start = 0;
  let heading = '';
  let inFence = false;
  let offset = 0;
  for (const line of text.split('\n')) {
    const lineStart = offset;
    offset += line.length + 1;
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h = inFence ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    out.push({ heading, start, end: lineStart });
    path.length = h[1].length - 1;
    path[h[1].length - 1] = h[2];
    heading = path.filter(Boolean).join(' > ');
    start = Math.min(offset, text.length);
  }
  out.push({ heading, start, end: text.length });
  return out;
}

function* paragraphs(text: string, from: number, to: number): Generator<Piece> {
  const re = /\n[ \t]*\n/g;
  re.lastIndex = from;
  let start = from;
  while (start < to) {
    const m = re.exec(text);
    const end = m && m.index < to ? m.index : to;
    const trimmed = trimSpan(text, start, end);
    if (trimmed) yield { ...trimmed, tokens: tokensOf(text.slice(trimmed.start, trimmed.end), 1e9) };
    if (!m || m.index >= to) break;
    start = m.index + m[0].length;
  }
}

function trimSpan(text: string, start: number, end: number): { start: number; end: number } | null {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return end > start ? { start, end } : null;
}

// A paragraph over budget is cut at sentence ends, and a sentence over budget at spaces.
function splitLong(text: string, p: Piece, maxTokens: number): Piece[] {
  if (p.tokens <= maxTokens) return [p];
  const out: Piece[] = [];
  const maxChars = maxTokens * 3;
  let start = p.start;
  while (start < p.end) {
    let end = Math.min(p.end, start + maxChars);
    if (end < p.end) {
      const window = text.slice(start, end);
      const sentence = Math.max(window.lastIndexOf('. '), window.lastIndexOf('! '), window.lastIndexOf('? '), window.lastIndexOf('\n'));
      const space = window.lastIndexOf(' ');
      const cut = sentence > maxChars / 3 ? sentence + 1 : space > maxChars / 3 ? space : window.length;
      end = start + cut;
    }
    const span = trimSpan(text, start, end);
    if (span) out.push({ ...span, tokens: tokensOf(text.slice(span.start, span.end), maxTokens) });
    start = end;
  }
  return out;
}

// Pieces are at most maxTokens - overlap, so a carried tail plus the next piece still fits the budget.
function pack(text: string, pieces: Piece[], maxTokens: number, overlap: number, heading: string, out: ChunkSpan[]): void {
  let i = 0;
  let lead: { start: number; tokens: number } | null = null;
  while (i < pieces.length) {
    let j = i;
    let tokens = lead?.tokens ?? 0;
    while (j < pieces.length && (j === i || tokens + pieces[j].tokens <= maxTokens)) tokens += pieces[j++].tokens;
    out.push({ heading, start: lead?.start ?? pieces[i].start, end: pieces[j - 1].end });
    if (j >= pieces.length) break;
    // Repeat the last whole pieces that fit in the overlap; failing that, the tail words of the last piece.
    let k = j;
    let carried = 0;
    while (k - 1 > i && carried + pieces[k - 1].tokens <= overlap) carried += pieces[--k].tokens;
    if (k < j || overlap === 0) {
      i = k;
      lead = null;
      continue;
    }
    const last = pieces[j - 1];
    let from = Math.max(last.start, last.end - overlap * 4);
    if (from > last.start) {
      while (from < last.end && !/\s/.test(text[from])) from++;
      while (from < last.end && /\s/.test(text[from])) from++;
    }
    lead = from < last.end ? { start: from, tokens: tokensOf(text.slice(from, last.end), maxTokens) } : null;
    i = j;
  }
}
