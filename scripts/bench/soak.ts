// Soak: a 3-node loopback mesh of real node processes under a steady mixed load; reports errors, latency and RSS growth.
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/soak.ts [--seconds=60] [--rate=40]
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { fmt, percentile, startFakeUpstream, startMeshNode, type Child, type MeshNodeProc } from './lib.ts';

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const SECONDS = arg('seconds', 60);
const RATE = arg('rate', 40);
/** Open-loop pacing, but never more than this many requests outstanding (a stuck node must not snowball the run). */
const MAX_OUTSTANDING = 256;
/**
 * The stated bounds. RSS saw-tooths by ~100 MB with major GCs (about every 80-100 s at this load), so start vs end says
 * little: no node may ever exceed RSS_CEILING_MB, and on runs long enough for several GC cycles a node's peak RSS in
 * the last third may exceed its peak in the first third by at most RSS_GROWTH_BOUND_MB (a leak raises the peaks).
 */
const RSS_CEILING_MB = 400;
const RSS_GROWTH_BOUND_MB = 32;
const TREND_MIN_SECONDS = 240;
const WARMUP_SECONDS = 15;
const TRACE_EVERY_S = 5;
const MAX_ERROR_RATE = 0.001;
const DEAD = 'http://127.0.0.1:9/v1';

/** V8 heap in use, from the node's own Prometheus metrics: tells a leak (keeps rising) from RSS the allocator keeps. */
async function heapUsedMb(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const m = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    return m ? Number(m[1]) / 1048576 : NaN;
  } catch {
    return NaN;
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

type Kind = 'stream' | 'cache-hit' | 'fallback' | 'forward' | 'forward-stream' | 'json';
const KINDS: Kind[] = ['stream', 'cache-hit', 'fallback', 'forward', 'forward-stream', 'json'];
interface Sample {
  kind: Kind;
  ms: number;
  ok: boolean;
  detail?: string;
  at?: number;
}

function requestFor(kind: Kind, i: number, nodes: MeshNodeProc[]): { url: string; body: object } {
  const served = nodes[i % 2]; // nodes 0 and 1 have live targets; node 2's only target is dead
  const msg = (content: string) => [{ role: 'user', content }];
  switch (kind) {
    case 'stream':
      return { url: served.url, body: { model: 'gpt-4o-mini', stream: true, messages: msg(`stream ${i}`) } };
    case 'cache-hit':
      return { url: served.url, body: { model: 'gpt-4o-mini', temperature: 0, messages: msg(`repeat ${i % 8}`) } };
    case 'fallback':
      return { url: served.url, body: { model: 'fb-model', messages: msg(`fallback ${i}`) } };
    case 'forward':
      return { url: nodes[2].url, body: { model: 'gpt-4o-mini', messages: msg(`forward ${i}`) } };
    case 'forward-stream':
      return { url: nodes[2].url, body: { model: 'gpt-4o-mini', stream: true, messages: msg(`forward stream ${i}`) } };
    case 'json':
      return { url: served.url, body: { model: 'gpt-4o-mini', messages: msg(`json ${i}`) } };
  }
}

async function once(kind: Kind, i: number, nodes: MeshNodeProc[]): Promise<Sample> {
  const { url, body } = requestFor(kind, i, nodes);
  const started = performance.now();
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const streamed = (body as { stream?: boolean }).stream === true;
    const ok = res.status === 200 && (streamed ? text.trimEnd().endsWith('data: [DONE]') && !text.includes('"error"') : text.includes('"choices"'));
    return { kind, ms: performance.now() - started, ok, detail: ok ? undefined : `${res.status} ${text.slice(0, 200)}` };
  } catch (err) {
    return { kind, ms: performance.now() - started, ok: false, detail: (err as Error).message };
  }
}

/** Open-loop load at RATE for `seconds`, the kinds in turn; `tick` runs every TRACE_EVERY_S with the elapsed seconds. */
async function runLoad(nodes: MeshNodeProc[], seconds: number, tick: (at: number) => void): Promise<{ samples: Sample[]; skipped: number }> {
  const samples: Sample[] = [];
  let outstanding = 0;
  let skipped = 0;
  let i = 0;
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  tick(0);
  let nextTick = started + TRACE_EVERY_S * 1000;
  while (performance.now() < stopAt) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    while (i < due) {
      const n = i++;
      if (outstanding >= MAX_OUTSTANDING) {
        skipped++;
        continue;
      }
      outstanding++;
      const at = performance.now() - started;
      const p = once(KINDS[n % KINDS.length], n, nodes).then((s) => {
        samples.push({ ...s, at });
        outstanding--;
        inflight.delete(p);
      });
      inflight.add(p);
    }
    if (performance.now() >= nextTick) {
      tick((performance.now() - started) / 1000);
      nextTick += TRACE_EVERY_S * 1000;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  return { samples, skipped };
}

const meshYaml = (secret: string, bootstrap: string[], chains: string) =>
  `mesh:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  secret_file: ${secret}\n  bootstrap: [${bootstrap.join(', ')}]\nchains:\n${chains}`;

const work = mkdtempSync(join(tmpdir(), 'flowrouter-soak-'));
const children: { stop(): Promise<void> }[] = [];
let exitCode = 0;
try {
  const upstream: Child = await startFakeUpstream();
  children.push(upstream);
  const secret = join(work, 'mesh.key');
  await writeMeshSecret(secret);
  const live =
    `  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-soak\n      url: ${upstream.url}\n`
    + `  fallback:\n    - model: fb-model\n      provider: local\n      url: ${DEAD}\n    - name: live\n      model: fb-model\n      provider: local\n      url: ${upstream.url}\n`;
  const dirs = [0, 1, 2].map((n) => join(work, `node${n}`));
  for (const d of dirs) mkdirSync(d);
  const a = await startMeshNode('node-a', dirs[0], meshYaml(secret, [], live));
  children.push(a);
  const b = await startMeshNode('node-b', dirs[1], meshYaml(secret, [a.multiaddr], live));
  children.push(b);
  const c = await startMeshNode(
    'node-c',
    dirs[2],
    meshYaml(secret, [a.multiaddr, b.multiaddr], `  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: ${DEAD}\n`),
  );
  children.push(c);
  const nodes = [a, b, c];

  // Warm-up: wait until the forwarding node can reach a peer, then run the same load unmeasured so that start-up
  // (JIT, first connections, the first DHT publishing) is not counted as latency nor as memory growth.
  const until = Date.now() + 30_000;
  for (;;) {
    if ((await once('forward', 0, nodes)).ok) break;
    if (Date.now() > until) throw new Error('node-c never forwarded successfully');
    await new Promise((r) => setTimeout(r, 250));
  }
  await runLoad(nodes, WARMUP_SECONDS, () => undefined);
  const heapStart = await Promise.all(nodes.map((n) => heapUsedMb(n.url)));

  process.stderr.write(`soak: ${SECONDS} s at ${RATE} requests/s over 3 nodes (pids ${nodes.map((n) => n.pid).join(', ')})\n`);
  const trace: { at: number; rss: number[] }[] = [];
  const { samples, skipped } = await runLoad(nodes, SECONDS, (at) => trace.push({ at, rss: nodes.map((n) => rssMb(n.pid)) }));
  trace.push({ at: SECONDS, rss: nodes.map((n) => rssMb(n.pid)) });
  const heapEnd = await Promise.all(nodes.map((n) => heapUsedMb(n.url)));

  const lines: string[] = [
    `soak over ${SECONDS} s at ${RATE} requests/s: ${samples.length} requests, ${skipped} skipped (over ${MAX_OUTSTANDING} outstanding)`,
  ];
  const row = (label: string, s: Sample[]) => {
    const ms = s.map((x) => x.ms).sort((x, y) => x - y);
    const errors = s.filter((x) => !x.ok).length;
    return `${label.padEnd(15)} n=${String(s.length).padStart(6)}  errors=${String(errors).padStart(4)} (${fmt((100 * errors) / Math.max(s.length, 1), 3)}%)  p50=${fmt(percentile(ms, 50))} ms  p99=${fmt(percentile(ms, 99))} ms`;
  };
  for (const k of KINDS)
    lines.push(
      row(
        k,
        samples.filter((s) => s.kind === k),
      ),
    );
  lines.push(row('all', samples));
  const errors = samples.filter((s) => !s.ok);
  if (process.env.SOAK_DEBUG)
    for (const s of samples.filter((x) => x.ms > 300).slice(0, 40)) lines.push(`  slow: ${s.kind} at ${fmt(s.at! / 1000)} s took ${fmt(s.ms)} ms`);
  for (const detail of [...new Set(errors.map((e) => `${e.kind}: ${e.detail}`))].slice(0, 5)) lines.push(`  error: ${detail}`);
  lines.push(`RSS (MB)        ${nodes.map((n) => n.name.padStart(10)).join('')}`);
  for (const t of trace) lines.push(`  ${`+${fmt(t.at, 0)}s`.padEnd(14)}${t.rss.map((v) => fmt(v, 1).padStart(10)).join('')}`);
  lines.push(`heap used (MB)  ${heapStart.map((v, n) => `${fmt(v, 1)}→${fmt(heapEnd[n], 1)}`.padStart(12)).join('')}`);
  // RSS saw-tooths by 100 MB and more with major GCs, so start vs end says little; a leak raises the peaks instead.
  const peak = (from: number, to: number) => nodes.map((_, n) => Math.max(...trace.filter((t) => t.at >= from && t.at <= to).map((t) => t.rss[n])));
  const early = peak(0, SECONDS / 3);
  const late = peak((2 * SECONDS) / 3, SECONDS);
  const growth = late.map((v, n) => v - early[n]);
  lines.push(`  peak, 1st third${early.map((v) => fmt(v, 1).padStart(10)).join('')}`);
  lines.push(`  peak, 3rd third${late.map((v) => fmt(v, 1).padStart(10)).join('')}`);
  const trended = SECONDS >= TREND_MIN_SECONDS;
  lines.push(
    `  growth        ${growth.map((v) => fmt(v, 1).padStart(10)).join('')}   (bound: ${RSS_GROWTH_BOUND_MB} MB per node${trended ? '' : `, checked on runs of ${TREND_MIN_SECONDS} s or more`})`,
  );
  const highest = nodes.map((_, n) => Math.max(...trace.map((t) => t.rss[n])));
  lines.push(`  highest       ${highest.map((v) => fmt(v, 1).padStart(10)).join('')}   (ceiling: ${RSS_CEILING_MB} MB)`);
  const memoryOk = highest.every((h) => h <= RSS_CEILING_MB) && (!trended || growth.every((g) => g <= RSS_GROWTH_BOUND_MB));
  const errorRate = errors.length / Math.max(samples.length, 1);
  const pass = errorRate <= MAX_ERROR_RATE && memoryOk && skipped === 0;
  lines.push(
    `result: ${pass ? 'PASS' : 'FAIL'} (error rate ${fmt(100 * errorRate, 3)}% ≤ ${100 * MAX_ERROR_RATE}%, RSS ≤ ${RSS_CEILING_MB} MB${trended ? `, peak growth ≤ ${RSS_GROWTH_BOUND_MB} MB` : ''}, none skipped)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!pass) exitCode = 1;
} catch (err) {
  process.stderr.write(`soak failed: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  await Promise.all(children.reverse().map((c) => c.stop()));
  rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
