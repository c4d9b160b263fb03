// Token counting with gpt-tokenizer, loaded on first use: its encoding tables cost ~65 MB resident, and a node whose
// providers report usage and whose config has no token rules, TPM limits or RAG budgets never needs them.
import { createRequire } from 'node:module';
import { segmentEnd } from './token-segments.ts';

type Tokenizer = typeof import('gpt-tokenizer');

let tokenizer: Tokenizer | undefined;

/** Special-token text such as `<|endoftext|>` in a prompt is counted as the plain text it is, never refused. */
const PLAIN = { disallowedSpecial: new Set<string>() };
/** Characters a budget always counts exactly, however long that takes (~3 ms at worst): short texts get exact, reproducible counts. */
const EXACT_CHARS = 2048;
/** Tokenizer time a budget may spend past EXACT_CHARS before it estimates the rest. */
const BUDGET_MS = 6;
/**
 * The tokenizer's merge cache keeps the encoding of this many multi-token pieces (words that are not one token).
 * Its default, 100,000 pieces of up to MAX_RUN characters each, could hold ~150 MB of hostile text; this is ~5 MB.
 */
const MERGE_CACHE_PIECES = 4096;
/** Tokens per character assumed before anything was counted: o200k on English prose. */
const DEFAULT_RATIO = 0.25;
const WARM_UP = 'The quick brown fox (a vulpine quadruped) jumps over 13 lazy dogs; naïve café déjà-vu 日本語. Unrecognizable zxqv!';

/**
 * How much exact counting a group of texts may do: one request's prompt, one answer. Past EXACT_CHARS and BUDGET_MS
 * the rest is extrapolated from the tokens per character counted so far, so a hostile prompt, answer or stream holds
 * the event loop for milliseconds, not minutes.
 */
export class TokenBudget {
  spentMs = 0;
  chars = 0;
  tokens = 0;

  get exhausted(): boolean {
    return this.chars >= EXACT_CHARS && this.spentMs >= BUDGET_MS;
  }

  /** Tokens for `chars` characters at the rate counted so far. */
  estimate(chars: number): number {
    return Math.round(chars * (this.chars > 0 ? this.tokens / this.chars : DEFAULT_RATIO));
  }
}

function countSegment(tok: Tokenizer, text: string, at: number, end: number): number {
  return tok.countTokens(at === 0 && end === text.length ? text : text.slice(at, end), PLAIN);
}

function load(): Tokenizer {
  if (!tokenizer) {
    // require() keeps this synchronous; the CommonJS build is the same tokenizer as the ES module one.
    const tok = createRequire(import.meta.url)('gpt-tokenizer') as Tokenizer;
    tok.setMergeCacheSize(MERGE_CACHE_PIECES);
    // Compiled code rather than the interpreter then counts the first texts, which would otherwise eat their budget.
    const sample = `${WARM_UP}\n${JSON.stringify({ warm: WARM_UP.split(' ') })}\n`.repeat(12);
    for (let i = 0; i < 30; i++) {
      for (let at = 0, end = 0; at < sample.length; at = end) countSegment(tok, sample, at, (end = segmentEnd(sample, at)));
    }
    tokenizer = tok;
  }
  return tokenizer;
}

/**
 * Tokens in `text` under the o200k encoding (gpt-tokenizer's default): exact for prose, code and JSON within the
 * budget (a fresh one per call unless given); past it, and in runs of one character class longer than MAX_RUN, an
 * estimate that grows linearly with the text. The first call loads the tables synchronously (~0.2 s once on a
 * 2-core x64 VM).
 */
export function countTokens(text: string, budget: TokenBudget = new TokenBudget()): number {
  if (text.length === 0) return 0;
  if (budget.exhausted) return budget.estimate(text.length);
  const tok = load();
  let n = 0;
  for (let at = 0, end = 0; at < text.length; at = end) {
    if (budget.exhausted) return n + budget.estimate(text.length - at);
    const started = performance.now();
    end = segmentEnd(text, at);
    const tokens = countSegment(tok, text, at, end);
    budget.spentMs += performance.now() - started;
    budget.chars += end - at;
    budget.tokens += tokens;
    n += tokens;
  }
  return n;
}

/** Loads the tables now (benchmarks, tests) instead of on the first count. */
export function loadTokenizer(): void {
  load();
}
