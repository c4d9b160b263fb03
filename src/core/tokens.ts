// Token counting with gpt-tokenizer, loaded when the first chat request arrives: its tables cost ~70 MB and a long load.
import { createRequire } from 'node:module';

type CountTokens = typeof import('gpt-tokenizer').countTokens;

let count: CountTokens | undefined;
let warming = false;

function load(): CountTokens {
  // require() keeps counting synchronous; the CommonJS build is the same tokenizer as the ES module one.
  count ??= (createRequire(import.meta.url)('gpt-tokenizer') as typeof import('gpt-tokenizer')).countTokens;
  return count;
}

/** Tokens in `text` under the o200k encoding (gpt-tokenizer's default). */
export function countTokens(text: string): number {
  return (count ?? load())(text);
}

/**
 * Loads the tokenizer on the next turn of the event loop, so a request that ends with a usage estimate does not
 * stall there; called as chat requests start, it keeps the tables out of an idle node's memory and off start-up.
 */
export function warmTokenizer(): void {
  if (count || warming) return;
  warming = true;
  setImmediate(load);
}
