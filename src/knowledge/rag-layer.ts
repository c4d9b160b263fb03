// Retrieval-augmented prompts on the chat path: off unless a chain, a header or the request asks for it.
import { ClientError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { ChainConfig } from '../config/index.ts';
import type { ClientInfo, Layer } from '../pipeline/index.ts';
import { injectContext, retrieveContext } from './rag.ts';
import { lastUserText, sourcesOf } from './answer.ts';
import type { KnowledgeStore } from './store.ts';

interface RagWish {
  collection: string;
  topK?: number;
  tokenBudget?: number;
}

/** The request's own wish (`x-flowrouter-rag: <collection>`, read at the edge, or `flowrouter: {rag: …}`) wins over the chain's. */
export function ragWish(req: ChatRequest, header: string | undefined, chain: ChainConfig | undefined): RagWish | undefined {
  if (header) return header === 'off' ? undefined : { collection: header };
  const field = req.flowrouter?.rag;
  if (field === false || field === 'off') return undefined;
  if (typeof field === 'string' && field) return { collection: field };
  if (field && typeof field === 'object') {
    const f = field as { collection?: unknown; top_k?: unknown; token_budget?: unknown };
    if (typeof f.collection !== 'string' || !f.collection)
      throw new ClientError('flowrouter.rag.collection must be a collection name', { param: 'flowrouter.rag.collection' });
    const num = (v: unknown, name: string) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
        throw new ClientError(`flowrouter.rag.${name} must be a positive integer`, { param: `flowrouter.rag.${name}` });
      return v;
    };
    return { collection: f.collection, topK: num(f.top_k, 'top_k'), tokenBudget: num(f.token_budget, 'token_budget') };
  }
  if (field !== undefined) throw new ClientError('flowrouter.rag must be a collection name, an object or false', { param: 'flowrouter.rag' });
  return chain?.rag;
}

export interface RagLayerDeps {
  store: () => KnowledgeStore | undefined;
  /** The collection this client may read for the wish (`configured`: the chain's own); throws 403 when not granted. */
  collectionFor?: (requested: string, client: ClientInfo | undefined, configured: boolean) => string;
}

export function ragLayer(deps: RagLayerDeps): Layer<'chat'> {
  return (next) => async (req, ctx) => {
    const chain = ctx.trace.route?.chain;
    const asked = ragWish(req, ctx.directives.rag, chain);
    const wish = asked && deps.collectionFor ? { ...asked, collection: deps.collectionFor(asked.collection, ctx.client, asked === chain?.rag) } : asked;
    const store = deps.store();
    if (!wish || !store) return next(req, ctx);
    const { passages } = retrieveContext(store, { query: lastUserText(req), collection: wish.collection, topK: wish.topK, tokenBudget: wish.tokenBudget });
    ctx.trace.sources = passages.map((p) => p.id);
    const out = await next({ ...req, messages: injectContext(req.messages, passages) }, ctx);
    if (out.kind === 'json') return { ...out, response: { ...out.response, flowrouter_sources: sourcesOf(passages) } };
    return out;
  };
}
