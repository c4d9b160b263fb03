// The cache's place on the chat path: answers repeated requests from the store, and stores what the layers below answer.
import type { ChatChunk, ChatRequest } from '../core/openai.ts';
import type { ChainConfig, NodeConfig } from '../config/index.ts';
import type { ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';
import { cacheKey } from './key.ts';
import { cachePolicy } from './policy.ts';
import { assembleChunks, replayAsChunks } from './stream.ts';
import type { CachedAnswer, CacheStore } from './store.ts';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

export const CACHE_HEADER = 'x-flowrouter-cache';

/**
 * The chain that will serve the request (and the model asked for, which a pass-through chain sends on); with
 * `cache.scope: client`, also the client, so one tenant is never answered from another's entries.
 */
function scopeOf(deps: CacheLayerDeps, config: NodeConfig, req: ChatRequest, meta: RequestMeta): { scope: string; chain?: string; ttlS?: number } {
  const client = config.cache.scope === 'client' ? `|client:${meta.client?.id ?? ''}` : '';
  let chain: ChainConfig | undefined;
  try { chain = deps.chainFor(req, meta); } catch { /* no chain serves it: the router answers */ }
  return chain ? { scope: `${chain.name}|${req.model}${client}`, chain: chain.name, ttlS: chain.cacheTtlS } : { scope: `|${req.model}${client}` };
}

/** Yields the stream through, and stores its assembled answer only when it ran to its normal end. */
async function* storeWhenComplete(chunks: AsyncGenerator<ChatChunk>, store: (all: ChatChunk[]) => void): AsyncGenerator<ChatChunk> {
  const seen: ChatChunk[] = [];
  for await (const chunk of chunks) {
    seen.push(chunk);
    yield chunk;
  }
  store(seen);
}

export interface CacheLayerDeps {
  store: CacheStore;
  /** The live config (the node may reload it). */
  config: () => NodeConfig;
  /** The router's chain choice for this request (route rules included). */
  chainFor: (req: ChatRequest, meta: RequestMeta) => ChainConfig | undefined;
}

export function cacheLayer(deps: CacheLayerDeps): (next: ChatService) => ChatService {
  return (next) => async (req: ChatRequest, meta: RequestMeta) => {
    const config = deps.config();
    if (!config.cache.enabled) {
      const out = await next(req, meta);
      return { ...out, headers: { ...out.headers, [CACHE_HEADER]: 'bypass' } };
    }
    const { scope, chain, ttlS } = scopeOf(deps, config, req, meta);
    const policy = cachePolicy(req, meta.headers, config.cache, ttlS);
    const key = policy.read || policy.write ? cacheKey(req, scope) : '';
    if (policy.read) {
      const hit = deps.store.get(key);
      if (hit) {
        const headers: Record<string, string> = { [CACHE_HEADER]: 'hit', ...(chain ? { 'x-flowrouter-chain': chain } : {}), ...(hit.target ? { 'x-flowrouter-target': hit.target } : {}) };
        const result = req.stream
          ? { kind: 'stream' as const, chunks: replayAsChunks(hit.response, req.stream_options?.include_usage === true), firstByteMs: 0 }
          : { kind: 'json' as const, response: hit.response, firstByteMs: 0 };
        return { result, headers };
      }
    }
    const out = await next(req, meta);
    const headers = { ...out.headers, [CACHE_HEADER]: policy.read ? 'miss' : 'bypass' };
    if (!policy.write) return { ...out, headers };
    const target = out.headers['x-flowrouter-target'];
    const save = (answer: CachedAnswer) => deps.store.set(key, answer, policy.ttlS);
    if (out.result.kind === 'json') {
      save({ response: out.result.response, target });
      return { ...out, headers };
    }
    const chunks = storeWhenComplete(out.result.chunks, (all) => {
      const response = assembleChunks(all);
      if (response && response.choices.every((c) => c.finish_reason !== null)) save({ response, target });
    });
    return { ...out, headers, result: { ...out.result, chunks } };
  };
}
