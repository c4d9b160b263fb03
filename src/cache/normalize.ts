// Prompt normalization: collapses redundant whitespace in prose while leaving code, indented lines and JSON byte-exact.
import type { ChatMessage, ChatRequest } from '../core/openai.ts';

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const INDENTED = /^[ \t]/;
const BLANK = /^[ \t]*$/;
/** A line normalization treats as blank (the runs it shortens are made of these). */
export const isBlankLine = (line: string): boolean => BLANK.test(line);
/** Inline code and double-quoted spans are kept as they are: their inner spaces may matter. */
const PROTECTED_SPAN = /`[^`\n]*`|"(?:[^"\\\n]|\\.)*"/g;
const NEEDS_WORK = /[ \t]{2}|[ \t]\n|\n[ \t]+\n|\n\n\n|^\s|\s$/;
/** How far a JSON block that starts a line may run before we stop trying to parse it. */
const MAX_JSON_LINES = 400;

function looksLikeJson(text: string): boolean {
  const t = text.trim();
  if (!(t.startsWith('{') && t.endsWith('}')) && !(t.startsWith('[') && t.endsWith(']'))) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

function collapseLine(line: string): string {
  if (!/[ \t]{2}|[ \t]$/.test(line)) return line;
  let out = '';
  let last = 0;
  for (const m of line.matchAll(PROTECTED_SPAN)) {
    out += line.slice(last, m.index).replace(/[ \t]{2,}/g, ' ') + m[0];
    last = m.index + m[0].length;
  }
  return (out + line.slice(last).replace(/[ \t]{2,}/g, ' ')).replace(/[ \t]+$/, '');
}

/** Number of lines from `start` that form a JSON value, or 0. */
function jsonBlockLength(lines: string[], start: number): number {
  if (!/^[{[]/.test(lines[start])) return 0;
  let text = '';
  for (let i = start; i < lines.length && i - start < MAX_JSON_LINES; i++) {
    text += (i > start ? '\n' : '') + lines[i];
    if (/[}\]]\s*$/.test(lines[i]) && looksLikeJson(text)) return i - start + 1;
  }
  return 0;
}

/**
 * Normalizes one text: outside fenced code, runs of spaces collapse to one, trailing spaces go and runs of blank
 * lines become one. Fenced blocks, lines starting with a space or tab, blank lines next to those, JSON values and
 * quoted or inline-code spans are kept byte-exact.
 */
export function normalizeText(text: string): string {
  // Nothing to do without a run of spaces, trailing spaces, a blank line holding spaces, two blank lines in a row, or
  // whitespace at either end (a single empty line between paragraphs is kept as it is).
  return NEEDS_WORK.test(text) ? normalizeLines(text) : text;
}

/** `normalizeText` without its shortcut (exported for the test that checks the shortcut). */
export function normalizeLines(text: string): string {
  if (looksLikeJson(text)) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  let fence: string | null = null;
  let blanks: string[] = [];
  const flushBlanks = (nextIndented: boolean) => {
    if (blanks.length === 0) return;
    const prev = out.at(-1);
    const keep = nextIndented || (prev !== undefined && INDENTED.test(prev));
    if (keep) out.push(...blanks);
    else if (out.length > 0) out.push('');
    blanks = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (fence !== null) {
      out.push(line);
      const m = FENCE.exec(line);
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && line.slice(line.indexOf(m[1]) + m[1].length).trim() === '') fence = null;
      continue;
    }
    if (BLANK.test(line)) {
      blanks.push(line);
      continue;
    }
    flushBlanks(INDENTED.test(line));
    const opening = FENCE.exec(line);
    if (opening) {
      fence = opening[1];
      out.push(line);
      continue;
    }
    if (INDENTED.test(line)) {
      out.push(line);
      continue;
    }
    const json = jsonBlockLength(lines, i);
    if (json > 0) {
      out.push(...lines.slice(i, i + json));
      i += json - 1;
      continue;
    }
    out.push(collapseLine(line));
  }
  // Trailing blank lines are dropped unless they follow indented content (where they may belong to it).
  if (blanks.length > 0 && out.length > 0 && INDENTED.test(out.at(-1)!)) out.push(...blanks);
  return out.join('\n');
}

function normalizeContent(content: ChatMessage['content']): ChatMessage['content'] {
  if (typeof content === 'string') return normalizeText(content);
  if (!Array.isArray(content)) return content;
  let changed = false;
  const parts = content.map((p) => {
    if (p.type !== 'text') return p;
    const text = normalizeText(p.text);
    if (text === p.text) return p;
    changed = true;
    return { ...p, text };
  });
  return changed ? parts : content;
}

export interface NormalizedRequest {
  request: ChatRequest;
  /** Each text that changed, before and after: what the token count of the saving is taken over. */
  changes: { before: string; after: string }[];
}

/** Several layers (usage fingerprint, cache key, the normalize layer) ask about one request object: normalized once. */
const normalized = new WeakMap<ChatRequest, NormalizedRequest>();

/**
 * Normalizes every message's text (tool call arguments are never touched); returns the same object when nothing
 * changed. Requests are never mutated on the chat path, so the result is remembered per request object.
 */
export function normalizeRequest(req: ChatRequest): NormalizedRequest {
  let done = normalized.get(req);
  if (!done) {
    done = normalizeUncached(req);
    normalized.set(req, done);
  }
  return done;
}

function normalizeUncached(req: ChatRequest): NormalizedRequest {
  const changes: NormalizedRequest['changes'] = [];
  let changed = false;
  const messages = req.messages.map((m) => {
    const content = normalizeContent(m.content);
    if (content === m.content) return m;
    changed = true;
    if (typeof m.content === 'string') changes.push({ before: m.content, after: content as string });
    else if (Array.isArray(m.content)) {
      const after = content as typeof m.content;
      m.content.forEach((p, i) => {
        if (p.type === 'text' && after[i] !== p) changes.push({ before: p.text, after: (after[i] as { text: string }).text });
      });
    }
    return { ...m, content };
  });
  return { request: changed ? { ...req, messages } : req, changes };
}
