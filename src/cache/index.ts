// Response cache and prompt normalization: the chat-path layers and the store the mesh can replicate through.
export { CacheStore, checksumOf, type CacheEntry, type CachedAnswer, type CacheStoreOptions } from './store.ts';
export { cacheLayer, type CacheOutcome, type CacheLayerDeps } from './layer.ts';
export { cacheKey, canonicalJson } from './key.ts';
export { cachePolicy, isDeterministic, type CachePolicy } from './policy.ts';
export { normalizeText, normalizeRequest, type NormalizedRequest } from './normalize.ts';
export { normalizeLayer } from './normalize-layer.ts';
export { savedTokens } from './saved-tokens.ts';
export { replayAsChunks } from './stream.ts';
