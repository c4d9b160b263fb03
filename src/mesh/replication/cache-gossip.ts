// Optional response-cache replication: new entries go out on their own topic, signed, and peers import them.
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipsubMessage, TopicValidatorFn } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import { checksumOf } from '../../cache/index.ts';
import type { CacheEntry, CacheStore } from '../../cache/index.ts';
import type { MeshNode } from '../node.ts';
import { signCacheEntry, verifyCacheEntry } from './proof.ts';
import type { ReplicationState } from './state.ts';
import { CACHE_TOPIC, decodeJson, encodeJson } from './wire.ts';
import type { CacheGossip } from './wire.ts';

export interface CacheGossipContext {
  cache: CacheStore;
  pubsub: MeshNode['pubsub'];
  privateKey: PrivateKey;
  origin: string;
  state: ReplicationState;
  maxGossipBytes: number;
}

function isEntry(e: unknown): e is CacheEntry {
  const x = e as CacheEntry;
  return (
    typeof x === 'object'
    && x !== null
    && typeof x.key === 'string'
    && typeof x.body === 'string'
    && typeof x.checksum === 'string'
    && Number.isFinite(x.createdAt)
    && Number.isFinite(x.expiresAt)
  );
}

const accepted = new WeakMap<Uint8Array, CacheGossip>();

export function cacheValidator(ctx: CacheGossipContext): TopicValidatorFn {
  return async (_peer, msg) => {
    let env: CacheGossip | null = null;
    try {
      if (msg.data.byteLength <= ctx.maxGossipBytes) env = decodeJson(msg.data) as CacheGossip;
    } catch {
      /* rejected below */
    }
    const ok =
      env !== null
      && typeof env.origin === 'string'
      && isEntry(env.entry)
      && checksumOf(env.entry.body) === env.entry.checksum
      && (await verifyCacheEntry(env.origin, env.entry, env.sig));
    if (!ok || !env) {
      ctx.state.counts.cacheRejected++;
      return TopicValidatorResult.Reject;
    }
    accepted.set(msg.data, env);
    return TopicValidatorResult.Accept;
  };
}

/** Publishes the entry just stored under `key`; entries bigger than a gossip message stay local. */
export async function publishCacheEntry(ctx: CacheGossipContext, key: string): Promise<void> {
  const entry = ctx.cache.exportEntry(key);
  if (!entry) return;
  const sig = await signCacheEntry(ctx.privateKey, ctx.origin, entry);
  const data = encodeJson({ origin: ctx.origin, entry, sig } satisfies CacheGossip);
  if (data.byteLength > ctx.maxGossipBytes) return;
  await ctx.pubsub.publish(CACHE_TOPIC, data);
  ctx.state.counts.cacheSent++;
}

export function onCacheMessage(ctx: CacheGossipContext, evt: GossipsubMessage): void {
  if (evt.msg.topic !== CACHE_TOPIC) return;
  const env = accepted.get(evt.msg.data);
  if (env && ctx.cache.importEntry(env.entry)) ctx.state.counts.cacheReceived++;
}
