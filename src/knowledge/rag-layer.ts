// Retrieval-augmented prompts on the chat path: off unless a chain, a header or the request asks for it.
import { ClientError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { ChainConfig } from '../config/index.ts';
import type { ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';
import { injectContext, retrieveContext } from './rag.ts';
import { lastUserText, sourcesOf } from './answer.ts';
import type { KnowledgeStore } from './store.ts';

export const RAG_HEADER = 'x-flowrouter-rag';

interface RagWish { collection: string; topK?: number; tokenBudget?: number }

/** The request's own wish (`x-flowrouter-rag: <collection>` or `flowrouter: {rag: …}`) wins over the chain's. */
export function ragWish(req: ChatRequest, meta: RequestMeta, chain: ChainConfig | undefined): RagWish | undefined {
  const header = meta.headers[RAG_HEADER];
  if (typeof header === 'string' && header.trim()) return header.trim() === 'off' ? undefined : { collection: header.trim() };
  const field = req.flowrouter?.rag;
  if (field === false || field === 'off') return undefined;
  if (typeof field === 'string' && field) return { collection: field };
  if (field && typeof field === 'object') {
    const f = field as { collection?: unknown; top_k?: unknown; token_budget?: unknown };
    if (typeof f.collection !== 'string' || !f.collection) throw new ClientError('flowrouter.rag.collection must be a collection name', { param: 'flowrouter.rag.collection' });
    const num = (v: unknown, name: string) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ClientError(`flowrouter.rag.${name} must be a positive integer`, { param: `flowrouter.rag.${name}` });
      return v;
    };
    return { collection: f.collection, topK: num(f.top_k, 'top_k'), tokenBudget: num(f.token_budget, 'token_budget') };
  }
  if (field !== undefined) throw new ClientError('flowrouter.rag must be a collection name, an object or false', { param: 'flowrouter.rag' });
  return chain?.rag;
}

export interface RagLayerDeps {
  store: () => KnowledgeStore | undefined;
  chainFor: (req: ChatRequest, meta: RequestMeta) => ChainConfig | undefined;
  /** The collection this client may read for the wish (`configured`: the chain's own); throws 403 when not granted. */
  collectionFor?: (requested: string, meta: RequestMeta, configured: boolean) => string;
}

export function ragLayer(deps: RagLayerDeps) {
  return (next: ChatService): ChatService => async (req, meta) => {
    const chain = deps.chainFor(req, meta);
    const asked = ragWish(req, meta, chain);
    const wish = asked && deps.collectionFor ? { ...asked, collection: deps.collectionFor(asked.collection, meta, asked === chain?.rag) } : asked;
    const store = deps.store();
    if (!wish || !store) return next(req, meta);
    const { passages } = retrieveContext(store, { query: lastUserText(req), collection: wish.collection, topK: wish.topK, tokenBudget: wish.tokenBudget });
    const out = await next({ ...req, messages: injectContext(req.messages, passages) }, meta);
    const headers = { ...out.headers, 'x-flowrouter-sources': passages.map((p) => p.id).join(',') };
    if (out.result.kind === 'json') {
      return { ...out, headers, result: { ...out.result, response: { ...out.result.response, flowrouter_sources: sourcesOf(passages) } } };
    }
    return { ...out, headers };
  };
}
