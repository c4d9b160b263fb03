// Retrieval-augmented generation building blocks: find passages within a token budget and put them in front of a chat.
import { countTokens } from '../core/tokens.ts';
import type { ChatMessage } from '../core/openai.ts';
import { ClientError } from '../core/errors.ts';
import type { KnowledgeStore } from './store.ts';

export interface Passage {
  id: string;
  docId: string;
  title: string;
  source: string;
  text: string;
}

export interface RetrieveOptions {
  query: string;
  collection?: string;
  topK?: number;
  tokenBudget?: number;
  /** Only passages from collections this accepts (a client's grant, when `collection` leaves every one open). */
  allow?: (collection: string) => boolean;
}

/** How many more matches are read when some may be filtered out by `allow`. */
const FILTER_HEADROOM = 4;

/** The best passages for a question, in rank order, whose texts together fit the token budget (o200k tokens). */
export function retrieveContext(store: KnowledgeStore, opts: RetrieveOptions): { passages: Passage[]; tokens: number } {
  const topK = Math.max(1, Math.min(opts.topK ?? 5, 50));
  const budget = opts.tokenBudget ?? 2000;
  const passages: Passage[] = [];
  let tokens = 0;
  const { allow } = opts;
  const found = searchQuietly(store, opts.query, opts.collection, allow ? Math.min(50, topK * FILTER_HEADROOM) : topK);
  for (const r of allow ? found.filter((f) => allow(f.collection)).slice(0, topK) : found) {
    const cost = countTokens(r.text);
    // A long passage that does not fit may still leave room for a shorter, lower-ranked one.
    if (tokens + cost > budget) continue;
    passages.push({ id: r.id, docId: r.docId, title: r.title, source: r.source, text: r.text });
    tokens += cost;
  }
  return { passages, tokens };
}

// A chat message with no searchable words simply gets no context; it is not the client's error.
function searchQuietly(store: KnowledgeStore, query: string, collection: string | undefined, limit: number) {
  try {
    return store.search(query, { collection, limit, mode: 'any' });
  } catch (err) {
    if (err instanceof ClientError && (err.code === 'empty_query' || err.code === 'query_too_long')) return [];
    throw err;
  }
}

export const CONTEXT_OPEN = '<knowledge-context>';
export const CONTEXT_CLOSE = '</knowledge-context>';

export function formatPassages(passages: readonly Passage[]): string {
  return passages.map((p) => `[${p.id}] ${p.title}${p.source && p.source !== p.title ? ` (${p.source})` : ''}\n${p.text}`).join('\n\n');
}

/** New messages with one context message right after the leading system/developer messages; the input is not changed. */
export function injectContext(messages: readonly ChatMessage[], passages: readonly Passage[]): ChatMessage[] {
  if (passages.length === 0) return [...messages];
  const context: ChatMessage = {
    role: 'system',
    content:
      `${CONTEXT_OPEN}\nPassages from the knowledge base. Use them when they are relevant and cite them by their [id] marker.\n\n`
      + `${formatPassages(passages)}\n${CONTEXT_CLOSE}`,
  };
  let at = 0;
  while (at < messages.length && (messages[at].role === 'system' || messages[at].role === 'developer')) at++;
  return [...messages.slice(0, at), context, ...messages.slice(at)];
}

/** An answer made only of the best passages and their sources, for the offline `knowledge` target. */
export function knowledgeAnswer(store: KnowledgeStore, opts: { query: string; collection?: string; topK?: number }): string {
  const { passages } = retrieveContext(store, { ...opts, tokenBudget: Number.MAX_SAFE_INTEGER });
  if (passages.length === 0) return 'No matching passages were found in the knowledge base.';
  const sources = [...new Set(passages.map((p) => p.source || p.docId))];
  return `${formatPassages(passages)}\n\nSources: ${sources.join(', ')}`;
}
