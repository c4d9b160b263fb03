// Benchmark: knowledge replication on loopback — a late joiner catching up on N documents, and gossip latency in a 5-node mesh.
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/mesh-replication.ts [documents] [gossip ops]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GossipsubMessage } from '@libp2p/gossipsub';
import { openDatabase } from '../../src/core/database.ts';
import type { Db } from '../../src/core/database.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import { KB_TOPIC, createMeshNode, createReplicator, loadOrCreateIdentity } from '../../src/mesh/index.ts';
import type { MeshNode, Replicator } from '../../src/mesh/index.ts';
import { percentile } from './lib.ts';

const DOCS = Number(process.argv[2] ?? 10_000);
const GOSSIP_OPS = Number(process.argv[3] ?? 200);
const TIMING = { heartbeatMs: 1_000, recordTtlMs: 10_000, republishMs: 60_000, dhtTimeoutMs: 2_000, keepaliveMs: 1_000 };

interface BenchNode { mesh: MeshNode; db: Db; store: KnowledgeStore; replicator: Replicator; dir: string }

async function startNode(bootstrap: string[]): Promise<BenchNode> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-bench-repl-'));
  const mesh = createMeshNode(
    { dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, mdns: false, timing: TIMING },
    { capacity: () => ({ models: [], chains: [], freeConcurrency: 0, latencyP50Ms: null, errorRate: 0, version: 'bench' }),
      serveForward: () => Promise.reject(new Error('not serving')) },
  );
  await mesh.start();
  const db = openDatabase(join(dir, 'flowrouter.db'));
  const store = new KnowledgeStore(db, mesh.peerId);
  const replicator = createReplicator({ mesh, privateKey: await loadOrCreateIdentity(dir), store, options: { syncIntervalMs: 5_000 } });
  await replicator.start();
  return { mesh, db, store, replicator, dir };
}

async function stopAll(nodes: BenchNode[]): Promise<void> {
  for (const n of nodes) await n.replicator.stop();
  await Promise.all(nodes.map((n) => n.mesh.stop()));
  for (const n of nodes) { n.db.close(); await rm(n.dir, { recursive: true, force: true }); }
}

const addr = (n: BenchNode): string => n.mesh.status().multiaddrs.find((m) => m.includes('/127.0.0.1/'))!;

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const paragraph = (i: number): string =>
  `Document ${i} describes subsystem ${i % 97} and its failure modes. `.repeat(6) + `\n\nOperations note ${i}: restart order matters. `.repeat(4);

async function lateJoiner(): Promise<void> {
  const a = await startNode([]);
  const nodes = [a];
  try {
    for (let i = 0; i < DOCS; i += 1_000) {
      a.store.putMany(Array.from({ length: Math.min(1_000, DOCS - i) }, (_, k) => ({ id: `doc-${i + k}`, title: `Doc ${i + k}`, text: paragraph(i + k) })));
    }
    // The writer signs each op as it publishes it; let that finish so the joiner measures replication only.
    await until('the writer to sign its ops', () => a.replicator.status().counts.opsSent >= DOCS, 120_000);
    const started = performance.now();
    const late = await startNode([addr(a)]);
    nodes.push(late);
    await until('the late joiner to converge', () => (late.store.versionVector()[a.mesh.peerId] ?? 0) >= DOCS, 120_000);
    const seconds = (performance.now() - started) / 1000;
    const ok = late.store.stats().documents === DOCS && late.store.search('subsystem', { limit: 5 }).length > 0;
    console.log(`late joiner: ${DOCS} documents converged in ${seconds.toFixed(2)} s (target <= 10 s)${ok ? '' : ' — CONTENT MISMATCH'}`);
  } finally {
    await stopAll(nodes);
  }
}

async function gossipLatency(): Promise<void> {
  const nodes: BenchNode[] = [];
  try {
    for (let i = 0; i < 5; i++) nodes.push(await startNode(nodes.map(addr)));
    await until('a full topic mesh', () => nodes.every((n) => n.mesh.pubsub.getSubscribers(KB_TOPIC).length === 4), 30_000);
    const sentAt = new Map<string, number>();
    const samples: number[] = [];
    // Registered after the replicator's own listener, so it runs once the op has been verified and applied.
    for (const n of nodes) {
      n.mesh.pubsub.addEventListener('gossipsub:message', (evt: CustomEvent<GossipsubMessage>) => {
        const docId = (JSON.parse(new TextDecoder().decode(evt.detail.msg.data)) as { op: { docId: string } }).op.docId;
        const t = sentAt.get(docId);
        if (t !== undefined) samples.push(performance.now() - t);
      });
    }
    for (let i = 0; i < GOSSIP_OPS; i++) {
      const id = `g-${i}`;
      sentAt.set(id, performance.now());
      nodes[i % nodes.length].store.put({ id, text: paragraph(i) });
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('every op at every node', () => samples.length >= GOSSIP_OPS * 4, 30_000);
    samples.sort((x, y) => x - y);
    console.log(`gossip to every node of a 5-node mesh (${samples.length} deliveries): p50 ${percentile(samples, 50).toFixed(1)} ms, `
      + `p95 ${percentile(samples, 95).toFixed(1)} ms, max ${samples[samples.length - 1].toFixed(1)} ms (target p95 <= 1000 ms)`);
  } finally {
    await stopAll(nodes);
  }
}

await lateJoiner();
await gossipLatency();
