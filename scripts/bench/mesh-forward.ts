// Benchmark: what a mesh forward adds over serving locally (two nodes on loopback, an instant fake local chain).
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/mesh-forward.ts [requests]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { createMeshNode } from '../../src/mesh/index.ts';
import type { ForwardContext, MeshNode } from '../../src/mesh/index.ts';
import type { ChatResult } from '../../src/providers/transport.ts';

const N = Number(process.argv[2] ?? 3_000);
const THROUGHPUT_MS = 3_000;
const CONCURRENCY = 32;
const MODEL = 'bench-model';

async function serveForward(req: ChatRequest, _ctx: ForwardContext): Promise<ChatResult> {
  if (req.stream) {
    async function* gen(): AsyncGenerator<ChatChunk> {
      for (let i = 0; i < 20; i++)
        yield { id: 'b', object: 'chat.completion.chunk', created: 0, model: MODEL, choices: [{ index: 0, delta: { content: 'tok ' }, finish_reason: null }] };
    }
    return { kind: 'stream', chunks: gen(), firstByteMs: 0 };
  }
  return {
    kind: 'json',
    firstByteMs: 0,
    response: {
      id: 'b',
      object: 'chat.completion',
      created: 0,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    },
  };
}

const request = (stream: boolean): ChatRequest => ({ model: MODEL, stream, messages: [{ role: 'user', content: 'Say ok. '.repeat(50) }] });

async function consume(r: ChatResult): Promise<void> {
  if (r.kind === 'stream')
    for await (const _ of r.chunks) {
      /* drain */
    }
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)], p99: s[Math.floor(s.length * 0.99)] };
}

async function time(n: number, once: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(200, n); i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

const ctx = (): ForwardContext => ({ signal: new AbortController().signal, peerId: 'bench', requestId: 'bench' });
const fwdOpts = () => ({ requestId: 'bench', deadlineMs: Date.now() + 10_000 });
/** Forwards once; a failure stops the run with the peer table, which says why the peer was not usable. */
async function forward(stream: boolean): Promise<ChatResult> {
  try {
    const [peer] = await client.peersFor(request(stream).model, AbortSignal.timeout(5_000));
    if (!peer) throw new Error('no peer serves the model');
    return await client.forward(peer, request(stream), fwdOpts());
  } catch (err) {
    process.stderr.write(`forward failed: ${(err as Error).message}\npeer table: ${JSON.stringify(client.peers(), null, 2)}\n`);
    throw err;
  }
}
const fmt = (x: { p50: number; p99: number }): string => `p50 ${x.p50.toFixed(3)} ms  p99 ${x.p99.toFixed(3)} ms`;

const dirs = [await mkdtemp(join(tmpdir(), 'fr-bench-')), await mkdtemp(join(tmpdir(), 'fr-bench-'))];
const capacity = () => ({ models: [MODEL], chains: [], freeConcurrency: 64, latencyP50Ms: 1, errorRate: 0, version: 'bench' });
const server = createMeshNode({ dataDir: dirs[0], listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false }, { capacity, serveForward });
await server.start();
const addr = server.status().multiaddrs[0];
const client: MeshNode = createMeshNode(
  { dataDir: dirs[1], listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [addr], mdns: false },
  { capacity: () => ({ ...capacity(), models: [] }), serveForward },
);
await client.start();
try {
  const until = Date.now() + 10_000;
  while (!client.peers().some((p) => p.capacity?.models.includes(MODEL))) {
    if (Date.now() > until) throw new Error("the client never learnt the server's capacity");
    await new Promise((r) => setTimeout(r, 20));
  }
  const direct = await time(N, async () => consume(await serveForward(request(false), ctx())));
  const forwarded = await time(N, async () => consume(await forward(false)));
  const directStream = await time(N, async () => consume(await serveForward(request(true), ctx())));
  const firstChunk: number[] = [];
  const forwardedStream = await time(N, async () => {
    const t = performance.now();
    const r = await forward(true);
    if (r.kind !== 'stream') throw new Error('expected a stream');
    await r.chunks.next();
    firstChunk.push(performance.now() - t);
    await consume(r);
  });

  let done = 0;
  const stopAt = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < stopAt) {
        await consume(await forward(false));
        done++;
      }
    }),
  );
  const rps = done / (THROUGHPUT_MS / 1000);

  process.stdout.write(
    [
      `mesh forward benchmark (${N} sequential requests each, loopback TCP + Noise + Yamux)`,
      `JSON   direct serveForward:   ${fmt(direct)}`,
      `JSON   through a forward:     ${fmt(forwarded)}   → adds ${(forwarded.p50 - direct.p50).toFixed(3)} ms at p50`,
      `stream direct (20 chunks):    ${fmt(directStream)}`,
      `stream through a forward:     ${fmt(forwardedStream)}   → adds ${(forwardedStream.p50 - directStream.p50).toFixed(3)} ms at p50`,
      `stream first chunk, forward:  ${fmt(percentiles(firstChunk.slice(-N)))}`,
      `throughput through a forward: ${rps.toFixed(0)} requests/s (${CONCURRENCY} in flight, JSON)`,
      `target: forwarding adds ≤ 3 ms at p50 → ${forwarded.p50 - direct.p50 <= 3 ? 'met' : 'NOT met'}`,
      '',
    ].join('\n'),
  );
} finally {
  await client.stop();
  await server.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
