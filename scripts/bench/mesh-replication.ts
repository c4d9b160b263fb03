// Benchmark: knowledge replication — on loopback a late joiner catching up on N documents, gossip latency in a 5-node
// mesh and a 10 MB document over a protected connection; as root, a 60 s partition's convergence on the field test's
// namespace hosts (scripts/field-test, which npm test runs with a 10 s partition).
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/mesh-replication.ts [documents] [gossip ops]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { GossipsubMessage } from '@libp2p/gossipsub';
import { openDatabase } from '../../src/core/database.ts';
import type { Db } from '../../src/core/database.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import { KB_TOPIC, createMeshNode, createReplicator, loadOrCreateIdentity, writeMeshSecret } from '../../src/mesh/index.ts';
import type { MeshNode, Replicator } from '../../src/mesh/index.ts';
import { labAvailable } from '../field/lab.ts';
import { runFieldTest } from '../field/main.ts';
import { percentile } from './lib.ts';

const DOCS = Number(process.argv[2] ?? 10_000);
const GOSSIP_OPS = Number(process.argv[3] ?? 200);
const TIMING = { heartbeatMs: 1_000, recordTtlMs: 10_000, republishMs: 60_000, dhtTimeoutMs: 2_000, keepaliveMs: 1_000 };

interface BenchNode {
  mesh: MeshNode;
  db: Db;
  store: KnowledgeStore;
  replicator: Replicator;
  dir: string;
}

async function startNode(bootstrap: string[], secretFile?: string): Promise<BenchNode> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-bench-repl-'));
  const mesh = createMeshNode(
    { dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, mdns: false, timing: TIMING, secretFile },
    {
      capacity: () => ({ models: [], chains: [], freeConcurrency: 0, latencyP50Ms: null, errorRate: 0, version: 'bench' }),
      serveForward: () => Promise.reject(new Error('not serving')),
    },
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
  for (const n of nodes) {
    await n.store.stop();
    n.db.close();
    await rm(n.dir, { recursive: true, force: true });
  }
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
    console.log(
      `gossip to every node of a 5-node mesh (${samples.length} deliveries): p50 ${percentile(samples, 50).toFixed(1)} ms, `
        + `p95 ${percentile(samples, 95).toFixed(1)} ms, max ${samples[samples.length - 1].toFixed(1)} ms (target p95 <= 1000 ms)`,
    );
  } finally {
    await stopAll(nodes);
  }
}

/** A 10 MB document (markdown, 36k chunks) from its writer to a peer over the pre-shared-key protector. */
async function largeDocument(): Promise<void> {
  const keys = await mkdtemp(join(tmpdir(), 'flowrouter-bench-key-'));
  const secret = join(keys, 'mesh.key');
  await writeMeshSecret(secret);
  const a = await startNode([], secret);
  const nodes = [a];
  try {
    const b = await startNode([addr(a)], secret);
    nodes.push(b);
    await until('B to connect', () => b.mesh.libp2p.getPeers().length > 0, 30_000);
    const section = (i: number) =>
      `## Procedure ${i}\n\nClose valve ${i % 17} before the pump in bay ${i % 23} is serviced; log the pressure. `.repeat(3) + '\n\n';
    const parts: string[] = [];
    for (let i = 0, size = 0; size < 10_000_000; i++) {
      const p = section(i);
      parts.push(p);
      size += p.length;
    }
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    // The synchronous write (what `flowrouter kb add` does in its own process) is not in the event-loop figure.
    a.store.put({ id: 'manual', text: parts.join('') });
    const written = performance.now();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await until('the document on B', () => b.store.list().some((d) => d.id === 'manual'), 120_000);
    const seconds = (performance.now() - written) / 1000;
    await a.store.indexed();
    await b.store.indexed();
    delay.disable();
    const searchable = (performance.now() - written) / 1000;
    console.log(
      `10 MB document: written in ${((written - started) / 1000).toFixed(2)} s, on the peer ${seconds.toFixed(2)} s later over the `
        + `protected connection, searchable on both ${searchable.toFixed(2)} s after the write; event loop held at most `
        + `${(delay.max / 1e6).toFixed(0)} ms meanwhile (writer and reader in this one process; target <= 20 ms per slice); `
        + `RSS of this process: +${Math.round((process.memoryUsage().rss - rss) / 1048576)} MB`,
    );
  } finally {
    await stopAll(nodes);
    await rm(keys, { recursive: true, force: true });
  }
}

/** A 60 s partition with edits on both sides, on the field test's namespace hosts; needs root. */
async function partitionConvergence(): Promise<void> {
  const available = await labAvailable();
  if (!available.ok) {
    console.log(`60 s partition: skipped (${available.reason})`);
    return;
  }
  const report = await runFieldTest({ partitionSeconds: 60, only: ['kb add/rm', 'partition'], say: () => undefined });
  if (report.failed.length) throw new Error(`field test failed: ${report.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`);
  console.log(
    `60 s partition (4 Pis in network namespaces, edits on both sides): converged ${report.timings.partitionConvergenceSeconds.toFixed(1)} s after healing`,
  );
}

await lateJoiner();
await gossipLatency();
await largeDocument();
await partitionConvergence();
