// The replicator's lifecycle for one replicated log (the knowledge base, the client keys): gossip local ops, serve and
// run anti-entropy syncs, compact tombstones, report status.
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import type { GossipsubMessage } from '@libp2p/gossipsub';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import type { CacheStore } from '../../cache/index.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { MeshConfigError } from '../errors.ts';
import type { MeshNode } from '../node.ts';
import { cacheValidator, onCacheMessage, publishCacheEntry } from './cache-gossip.ts';
import type { CacheGossipContext } from './cache-gossip.ts';
import { KB_CHANNEL, type LogChannel, type ReplicatedStore } from './channel.ts';
import { onOpMessage, opValidator, publishLocalOp, relayOp } from './op-gossip.ts';
import type { OpGossipContext } from './op-gossip.ts';
import { followLocalOps } from './local-ops.ts';
import { ReplicationState } from './state.ts';
import type { ReplicationStatus } from './state.ts';
import { pullFrom, syncHandler } from './sync.ts';
import type { SyncContext } from './sync.ts';
import { CACHE_TOPIC, MAX_GOSSIP_BYTES } from './wire.ts';
import { MeshStopping } from '../../core/errors.ts';

export interface ReplicationOptions {
  /** Anti-entropy with every connected peer this often (it also runs on connect and on a sequence gap). */
  syncIntervalMs: number;
  /** How often tombstone compaction runs. */
  compactIntervalMs: number;
  /** Tombstones older than this, seen by every peer heard from within it, are forgotten. */
  tombstoneHorizonMs: number;
  /** Replicate response-cache entries too (needs `cache`). */
  replicateCache: boolean;
  maxGossipBytes: number;
  batchOps: number;
  batchBytes: number;
  frameTimeoutMs: number;
  /** After a failed sync with a peer, the next one waits this long, doubling per failure up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the database is checked for ops another process (`flowrouter kb`) wrote. */
  localPollMs: number;
}

export const DEFAULT_REPLICATION: ReplicationOptions = {
  syncIntervalMs: 30_000,
  compactIntervalMs: 10 * 60_000,
  tombstoneHorizonMs: 7 * 24 * 3_600_000,
  replicateCache: false,
  maxGossipBytes: MAX_GOSSIP_BYTES,
  batchOps: 500,
  batchBytes: 1024 * 1024,
  frameTimeoutMs: 30_000,
  retryBaseMs: 2_000,
  retryMaxMs: 5 * 60_000,
  localPollMs: 250,
};

/** Failures in a row with a peer that is still connected after which a sync failure is told at warn. */
const STUCK_SYNC_FAILURES = 3;

/** The wait before the next sync after `failures` failures in a row: doubling, capped, with ±20 % jitter. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(30, failures - 1));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

export interface ReplicatorInit {
  /** A started mesh node; start the replicator after it and stop the replicator before it. */
  mesh: Pick<MeshNode, 'libp2p' | 'pubsub' | 'peerId'>;
  /** The mesh identity's key: it signs this node's ops. Its peer id must be the store's origin. */
  privateKey: PrivateKey;
  store: ReplicatedStore;
  /** The log's topic, sync protocol and proof domain: the knowledge base's unless told otherwise. */
  channel?: LogChannel;
  /** Response-cache entries ride along with the knowledge base's replicator only. */
  cache?: CacheStore | null;
  options?: Partial<ReplicationOptions>;
  /** The replication component's logger; events carry the channel's name as `log` (`kb`, `keys`). Absent: silent. */
  log?: Logger;
  /** The clock backoffs and peer ages are read on (`Date.now` unless told; tests slow it). */
  now?: () => number;
}

export interface Replicator {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ReplicationStatus;
  /** Pulls what `peerId` has and this node lacks; resolves when done (a failure is logged and counted, not thrown). */
  syncWith(peerId: string): Promise<void>;
  /** Syncs with every connected peer. */
  syncAll(): Promise<void>;
  /** Runs tombstone compaction now with the vectors learnt from peers. */
  compact(): { tombstones: number; ops: number };
}

interface Running {
  lifetime: AbortController;
  timers: NodeJS.Timeout[];
  undo: Array<() => void | Promise<void>>;
  syncs: Map<string, { again: boolean; done: Promise<void> }>;
  /** One pending retry per peer that is backing off. */
  retries: Map<string, NodeJS.Timeout>;
  publishing: Promise<void>;
  sync: SyncContext;
  /** Queues a gossip publication behind the ones before it. */
  enqueue(what: string, task: () => Promise<void>): void;
  ops: OpGossipContext | null;
}

export function createReplicator(init: ReplicatorInit): Replicator {
  const opts: ReplicationOptions = { ...DEFAULT_REPLICATION, ...init.options };
  const channel = init.channel ?? KB_CHANNEL;
  const log = (init.log ?? silentLogger).child({ log: channel.name });
  const { store } = init;
  const state = new ReplicationState(init.now);
  let running: Running | null = null;

  const pull = async (r: Running, peer: PeerId): Promise<void> => {
    try {
      const { received, applied, newest } = await pullFrom(r.sync, init.mesh.libp2p, peer, r.lifetime.signal);
      state.counts.syncs++;
      // A sync that found nothing is the normal case every interval: only one that brought ops is worth a line at info.
      log[received > 0 ? 'info' : 'debug']({ peer: peer.toString(), received, applied }, 'replication:synced');
      const gossip = r.ops;
      if (gossip) for (const wire of newest) r.enqueue(`${channel.name}-relay`, () => relayOp(gossip, wire));
    } catch (err) {
      if (r.lifetime.signal.aborted) return;
      // A sync that keeps failing (an unreachable peer, an op it cannot take) waits longer each time, never spins.
      const id = peer.toString();
      const error = (err as Error).message;
      const { failures, delayMs } = state.syncFailed(id, error, (n) => retryDelayMs(n, opts.retryBaseMs, opts.retryMaxMs));
      state.counts.syncFailures++;
      // A peer that left fails until it is back (its leaving is logged by the mesh); one still connected that keeps
      // failing needs a look (an op it cannot take, a store error).
      const stuck = failures >= STUCK_SYNC_FAILURES && init.mesh.libp2p.getConnections(peer).length > 0;
      log[stuck ? 'warn' : 'info']({ peer: id, error, failures, retryInS: Math.round(delayMs / 1000) }, 'replication:sync-failed');
      clearTimeout(r.retries.get(id));
      r.retries.set(
        id,
        setTimeout(() => {
          r.retries.delete(id);
          // The timer is the end of the backoff: a timer may fire a millisecond before the clock reaches `retryAt`, and
          // a retry refused as still backing off would schedule none after it.
          state.resumeSyncs(id);
          void syncWith(id);
        }, delayMs),
      );
    }
  };

  // One sync per peer at a time; asks arriving meanwhile fold into one more round once it ends.
  const syncWith = (peerId: string): Promise<void> => {
    const r = running;
    if (!r || peerId === store.origin || state.backingOff(peerId)) return Promise.resolve();
    const current = r.syncs.get(peerId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { again: true, done: Promise.resolve() };
    const peer = peerIdFromString(peerId);
    entry.done = (async () => {
      while (entry.again && !r.lifetime.signal.aborted && !state.backingOff(peerId)) {
        entry.again = false;
        await pull(r, peer);
      }
    })().finally(() => r.syncs.delete(peerId));
    r.syncs.set(peerId, entry);
    return entry.done;
  };

  const syncAll = async (): Promise<void> => {
    if (!running) return;
    await Promise.all(init.mesh.libp2p.getPeers().map((p) => syncWith(p.toString())));
  };

  const compact = (): { tombstones: number; ops: number } => {
    const result = store.compactTombstones(opts.tombstoneHorizonMs, state.recentVectors(opts.tombstoneHorizonMs));
    if (result.tombstones + result.ops > 0) log.info(result, 'replication:compacted');
    return result;
  };

  return {
    async start() {
      if (running) return;
      const { libp2p: host, pubsub } = init.mesh;
      if (peerIdFromPrivateKey(init.privateKey).toString() !== store.origin || init.mesh.peerId !== store.origin) {
        throw new MeshConfigError("replication needs the knowledge store's origin, the mesh peer id and the signing key to be one identity");
      }
      const lifetime = new AbortController();
      const sync: SyncContext = {
        store,
        channel,
        state,
        log,
        privateKey: init.privateKey,
        batchOps: opts.batchOps,
        batchBytes: opts.batchBytes,
        frameTimeoutMs: opts.frameTimeoutMs,
      };
      const r: Running = {
        lifetime,
        timers: [],
        undo: [],
        syncs: new Map(),
        retries: new Map(),
        publishing: Promise.resolve(),
        sync,
        enqueue: () => undefined,
        ops: null,
      };
      running = r;
      const gossip: OpGossipContext = {
        store,
        channel,
        state,
        log,
        pubsub,
        privateKey: init.privateKey,
        maxGossipBytes: opts.maxGossipBytes,
        requestSync: (peer, reason) => {
          log.debug({ peer, reason }, 'replication:sync-requested');
          void syncWith(peer);
        },
        connected: (peer) => host.getPeers().some((p) => p.toString() === peer),
      };
      const cache: CacheGossipContext | null =
        opts.replicateCache && init.cache && channel === KB_CHANNEL
          ? { cache: init.cache, pubsub, privateKey: init.privateKey, origin: store.origin, state, maxGossipBytes: opts.maxGossipBytes }
          : null;
      // Published in write order; a failed publish is only logged, since anti-entropy delivers the op anyway.
      const enqueue = (what: string, task: () => Promise<void>): void => {
        r.publishing = r.publishing.then(task).catch((err: unknown) => log.info({ what, error: (err as Error).message }, 'replication:publish-failed'));
      };
      r.enqueue = enqueue;
      r.ops = gossip;

      await host.handle(channel.syncProtocol, syncHandler(sync, lifetime.signal), { maxInboundStreams: 8, maxOutboundStreams: 8 });
      r.undo.push(() => host.unhandle(channel.syncProtocol));
      pubsub.topicValidators.set(channel.topic, opValidator(gossip));
      pubsub.subscribe(channel.topic);
      r.undo.push(() => {
        pubsub.unsubscribe(channel.topic);
        pubsub.topicValidators.delete(channel.topic);
      });
      if (cache) {
        pubsub.topicValidators.set(CACHE_TOPIC, cacheValidator(cache));
        pubsub.subscribe(CACHE_TOPIC);
        r.undo.push(() => {
          pubsub.unsubscribe(CACHE_TOPIC);
          pubsub.topicValidators.delete(CACHE_TOPIC);
        });
        r.undo.push(cache.cache.onSet((key) => enqueue('cache-entry', () => publishCacheEntry(cache, key))));
      }
      const onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
        onOpMessage(gossip, evt.detail);
        if (cache) onCacheMessage(cache, evt.detail);
      };
      pubsub.addEventListener('gossipsub:message', onMessage);
      r.undo.push(() => pubsub.removeEventListener('gossipsub:message', onMessage));
      r.undo.push(followLocalOps({ store, pollMs: opts.localPollMs, publish: (op) => enqueue(`${channel.name}-op`, () => publishLocalOp(gossip, op)) }));
      const onConnect = (evt: CustomEvent<PeerId>): void => {
        const id = evt.detail.toString();
        state.resumeSyncs(id);
        clearTimeout(r.retries.get(id));
        void syncWith(id);
      };
      host.addEventListener('peer:connect', onConnect);
      r.undo.push(() => host.removeEventListener('peer:connect', onConnect));
      // An op published before a new peer's subscription reached us went to nobody: catch that peer up once it subscribes.
      const onSubscription = (evt: CustomEvent<{ peerId: PeerId; subscriptions: { topic: string; subscribe: boolean }[] }>): void => {
        if (evt.detail.subscriptions.some((s) => s.topic === channel.topic && s.subscribe)) void syncWith(evt.detail.peerId.toString());
      };
      pubsub.addEventListener('subscription-change', onSubscription);
      r.undo.push(() => pubsub.removeEventListener('subscription-change', onSubscription));

      r.timers.push(
        setInterval(() => {
          void syncAll();
        }, opts.syncIntervalMs),
      );
      r.timers.push(
        setInterval(() => {
          try {
            compact();
          } catch (err) {
            log.warn({ error: (err as Error).message }, 'replication:compact-failed');
          }
        }, opts.compactIntervalMs),
      );
      void syncAll();
      log.info({ origin: store.origin, cache: cache !== null }, 'replication:started');
    },

    async stop() {
      const r = running;
      if (!r) return;
      running = null;
      for (const t of r.timers) clearInterval(t);
      for (const t of r.retries.values()) clearTimeout(t);
      for (const undo of r.undo.reverse()) await undo();
      r.lifetime.abort(new MeshStopping('replication'));
      await Promise.all([r.publishing, ...[...r.syncs.values()].map((s) => s.done)]);
    },

    status() {
      const versions = store.versionVector();
      return {
        origin: store.origin,
        versions,
        peers: state.peers(versions),
        counts: { ...state.counts },
        cacheReplication: opts.replicateCache && !!init.cache && channel === KB_CHANNEL,
      };
    },

    syncWith,
    syncAll,
    compact,
  };
}
