// The cache's place on the chat path: answers repeated requests from the store, and stores what the layers below answer.
import type { ChatRequest } from '../core/openai.ts';
import type { NodeConfig } from '../config/index.ts';
import type { Layer, RequestContext } from '../pipeline/index.ts';
import { cacheKey } from './key.ts';
import { cachePolicy } from './policy.ts';
import { replayAsChunks } from './stream.ts';
import type { CachedAnswer, CacheStore } from './store.ts';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

/**
 * The chain that serves the request (and the model asked for, which a pass-through chain sends on); with
 * `cache.scope: client`, also the client, so one tenant is never answered from another's entries.
 */
function scopeOf(config: NodeConfig, req: ChatRequest, ctx: RequestContext): string {
  const client = config.cache.scope === 'client' ? `|client:${ctx.client?.id ?? ''}` : '';
  return `${ctx.trace.route?.chain.name ?? ''}|${req.model}${client}`;
}

export interface CacheLayerDeps {
  store: CacheStore;
  /** The live config (the node may reload it). */
  config: () => NodeConfig;
}

export function cacheLayer(deps: CacheLayerDeps): Layer<'chat'> {
  return (next) => async (req, ctx) => {
    const config = deps.config();
    if (!config.cache.enabled) {
      ctx.trace.cache = 'bypass';
      return next(req, ctx);
    }
    const policy = cachePolicy(req, ctx.directives.cache, config.cache, ctx.trace.route?.chain.cacheTtlS);
    const key = policy.read || policy.write ? cacheKey(req, scopeOf(config, req, ctx)) : '';
    if (policy.read) {
      const hit = deps.store.get(key);
      if (hit) {
        ctx.trace.cache = 'hit';
        ctx.trace.target = hit.target;
        return req.stream
          ? { kind: 'stream', chunks: replayAsChunks(hit.response, req.stream_options?.include_usage === true), firstByteMs: 0 }
          : { kind: 'json', response: hit.response, firstByteMs: 0 };
      }
    }
    const out = await next(req, ctx);
    ctx.trace.cache = policy.read ? 'miss' : 'bypass';
    if (!policy.write) return out;
    const save = (answer: CachedAnswer) => deps.store.set(key, answer, policy.ttlS);
    if (out.kind === 'json') {
      save({ response: out.response, target: ctx.trace.target });
      return out;
    }
    // A stream is stored once it has ended normally with every choice finished.
    ctx.tap.onEnd((end) => {
      const response = end.response;
      if (end.status !== 'complete' || !response || !('choices' in response) || response.object !== 'chat.completion') return;
      if (response.choices.every((c) => c.finish_reason !== null)) save({ response, target: ctx.trace.target });
    });
    return out;
  };
}
