// Token counting with gpt-tokenizer, loaded on first use: its encoding tables cost ~70 MB and most requests never count.
import { createRequire } from 'node:module';

type CountTokens = typeof import('gpt-tokenizer').countTokens;

let count: CountTokens | undefined;

/** Tokens in `text` under the o200k encoding (gpt-tokenizer's default). */
export function countTokens(text: string): number {
  // require() keeps this synchronous; the CommonJS build is the same tokenizer as the ES module one.
  count ??= (createRequire(import.meta.url)('gpt-tokenizer') as typeof import('gpt-tokenizer')).countTokens;
  return count(text);
}

/** Loads the tokenizer soon, off any request's path: called once the node is listening and idle. */
export function warmTokenizer(): void {
  setTimeout(() => { countTokens(''); }, 50).unref();
}
