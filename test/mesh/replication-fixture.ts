// Shared fixtures for replication tests: mesh nodes each with its own SQLite knowledge store and a replicator.
import { join } from 'node:path';
import { CacheStore } from '../../src/cache/index.ts';
import type { Db } from '../../src/core/database.ts';
import { openDatabase } from '../../src/core/database.ts';
import type { Logger } from '../../src/core/logger.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import type { StoredDocument } from '../../src/knowledge/index.ts';
import { createReplicator, loadOrCreateIdentity } from '../../src/mesh/index.ts';
import type { MeshNode, MeshOptions, ReplicationOptions, Replicator } from '../../src/mesh/index.ts';
import { testMesh, waitFor } from './helpers.ts';
import type { TestMesh } from './helpers.ts';

export const FAST_REPLICATION: Partial<ReplicationOptions> = { syncIntervalMs: 1_000, compactIntervalMs: 60_000 };

export interface Replica {
  mesh: MeshNode;
  db: Db;
  store: KnowledgeStore;
  /** Replicated only when the replica was added with `replicateCache`. */
  cache: CacheStore;
  replicator: Replicator;
  dir: string;
  /** Stops the replicator and the mesh node, keeping the identity and database (a partition). */
  disconnect(): Promise<void>;
  /** Starts the same node again (same identity, same database). */
  reconnect(): Promise<void>;
}

export interface ReplicaSet {
  mesh: TestMesh;
  replicas: Replica[];
  /** `log`: the replicator's logger (silent when absent); `now`: its clock. */
  add(opts?: Partial<MeshOptions>, replication?: Partial<ReplicationOptions>, log?: Logger, now?: () => number): Promise<Replica>;
  close(): Promise<void>;
}

export function replicaSet(): ReplicaSet {
  const mesh = testMesh();
  const set: ReplicaSet = {
    mesh,
    replicas: [],
    async add(opts = {}, replication = {}, log, now) {
      const node = await mesh.add(opts);
      const dir = mesh.dirs[mesh.dirs.length - 1];
      const db = openDatabase(join(dir, 'flowrouter.db'));
      const store = new KnowledgeStore(db, node.peerId);
      const cache = new CacheStore(db, { maxEntries: 100, maxBytes: 1024 * 1024 });
      const replicator = createReplicator({
        mesh: node,
        privateKey: await loadOrCreateIdentity(dir),
        store,
        cache,
        options: { ...FAST_REPLICATION, ...replication },
        log,
        now,
      });
      await replicator.start();
      const replica: Replica = {
        mesh: node,
        db,
        store,
        cache,
        replicator,
        dir,
        async disconnect() {
          await replicator.stop();
          await node.stop();
        },
        async reconnect() {
          await node.start();
          await replicator.start();
        },
      };
      set.replicas.push(replica);
      return replica;
    },
    async close() {
      await Promise.all(set.replicas.map((r) => r.replicator.stop()));
      await mesh.close();
      for (const r of set.replicas) {
        await r.store.stop();
        r.db.close();
      }
    },
  };
  return set;
}

/** Everything replication must make equal: live documents, tombstones (ids with their winning clock) and the op log. */
export function snapshot(store: KnowledgeStore): { docs: StoredDocument[]; tombstones: unknown[]; versions: Record<string, number> } {
  const tombstones = store.db.prepare('SELECT id, hlc, origin FROM kb_docs WHERE deleted = 1 ORDER BY id').all();
  const docs = store.list({ limit: 10_000 }).sort((a, b) => a.id.localeCompare(b.id));
  return { docs, tombstones, versions: store.versionVector() };
}

/** Waits until every replica holds the same version vector as the first. */
export async function converged(replicas: readonly Replica[], ms = 15_000): Promise<void> {
  await waitFor(
    'replicas to converge',
    () => {
      const first = JSON.stringify(replicas[0].store.versionVector());
      return replicas.every((r) => JSON.stringify(r.store.versionVector()) === first);
    },
    ms,
  );
}
