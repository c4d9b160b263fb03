// Token counting with gpt-tokenizer, loaded on first use: its encoding tables cost ~65 MB resident, and a node whose
// providers report usage and whose config has no token rules, TPM limits or RAG budgets never needs them.
import { createRequire } from 'node:module';

type CountTokens = typeof import('gpt-tokenizer').countTokens;

let count: CountTokens | undefined;

/**
 * Tokens in `text` under the o200k encoding (gpt-tokenizer's default). Exact, so the first call loads the tables
 * synchronously (~0.3 s once on a 2-core x64 VM with the compile cache): callers' limits and ledgers rely on real counts.
 */
export function countTokens(text: string): number {
  // require() keeps this synchronous; the CommonJS build is the same tokenizer as the ES module one.
  count ??= (createRequire(import.meta.url)('gpt-tokenizer') as typeof import('gpt-tokenizer')).countTokens;
  return count(text);
}
