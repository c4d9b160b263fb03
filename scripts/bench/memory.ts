// Memory and responsiveness over a long run: mixed requests through one node (started as deployed) at 32 connections,
// with a status read and a metrics scrape every second. Reports heap after GC, RSS, event-loop delay and read times.
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/memory.ts [--requests=1000000] [--connections=32]
//   [--read-every-ms=1000] (0: no reads during the load, so nothing prunes what a leaky window keeps)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ROOT, fmt, startFakeUpstream, startNode, type Child } from './lib.ts';
import type { ReadTime } from './memory-reader.ts';

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const REQUESTS = arg('requests', 1_000_000);
const CONNECTIONS = arg('connections', 32);
/** A status read and a metrics scrape this often; 0 reads only after the load (what an unwatched node goes through). */
const READ_EVERY_MS = arg('read-every-ms', 1000);
/** A line every 100,000 requests (every tenth of a shorter run). */
const EVERY = Math.min(100_000, Math.max(1_000, Math.floor(REQUESTS / 10)));
const WARMUP = Math.min(5_000, Math.floor(REQUESTS / 10));
/** Idle time after the load before RSS is read again. */
const AFTER_LOAD_MS = 15_000;
/** The issue's targets. */
const TARGET = { slopeBytes: 1, rssGrowth: 0.1, rssAfterIdle: 1.5, loopMaxMs: 50, readMs: 20 };

type Kind = 'json' | 'stream' | 'cache-hit' | 'upstream-error' | 'disconnect';
/** Out of every 20 requests: 8 JSON, 4 streams (distinct prompts), 4 cache hits, 2 upstream errors, 2 clients leaving mid-stream. */
const MIX: Kind[] = [
  ...Array(8).fill('json'),
  ...Array(4).fill('stream'),
  ...Array(4).fill('cache-hit'),
  'upstream-error',
  'upstream-error',
  'disconnect',
  'disconnect',
];

function bodyFor(kind: Kind, i: number): object {
  const user = (content: string) => [{ role: 'user', content }];
  switch (kind) {
    case 'json':
      return { model: 'bench-model', messages: user(`Distinct question number ${i}: what is ${i} + ${i % 97}?`) };
    case 'stream':
      return { model: 'bench-model', stream: true, messages: user(`Stream an answer to question ${i}.`) };
    case 'cache-hit':
      return { model: 'bench-model', temperature: 0, messages: user(`A question asked again and again, variant ${i % 16}.`) };
    case 'upstream-error':
      return { model: 'fail', messages: user(`This one fails upstream (${i}).`) };
    case 'disconnect':
      return { model: 'slow', stream: true, messages: user(`A slow stream the client leaves (${i}).`) };
  }
}

interface Probe {
  p99Ms: number;
  maxMs: number;
  gcMaxMs: number;
  busyMaxMs: number;
  forcedGcMs: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
}

/**
 * Asks the node's probe (scripts/bench/memory-probe.mjs) for its loop delay since the last call, then heap after GC.
 * Reads pause meanwhile: they would time the probe's forced GC, not the node.
 */
async function probe(node: Child): Promise<Probe> {
  tellReader('pause');
  try {
    return await ask(node);
  } finally {
    // The probe resets its window 50 ms after the forced GC; reads resume after that.
    await new Promise((r) => setTimeout(r, 100));
    tellReader('resume');
  }
}

function ask(node: Child): Promise<Probe> {
  const id = Math.random();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the node did not answer the probe within 30 s')), 30_000);
    const onMessage = (m: Probe & { type: string; id: number }) => {
      if (m?.type !== 'probe' || m.id !== id) return;
      clearTimeout(timer);
      node.proc.off('message', onMessage);
      resolve(m);
    };
    node.proc.on('message', onMessage);
    node.proc.send({ type: 'probe', id });
  });
}

const upstream = await startFakeUpstream();
const yaml = `router:
  retries: 0
  breaker_failures: 1000000
chains:
  default:
    - model: bench-model
      provider: openai
      key: sk-bench
      url: ${upstream.url}
      tpm: 1000000000
  failing:
    - model: fail
      provider: openai
      key: sk-bench
      url: ${upstream.url}
  slow:
    - model: slow
      provider: openai
      key: sk-bench
      url: ${upstream.url}
`;
const node = await startNode(yaml, [], {
  production: true,
  ipc: true,
  // BENCH_NODE_OPTIONS adds flags for a diagnosis (e.g. --heapsnapshot-signal=SIGUSR2).
  env: { NODE_OPTIONS: `--expose-gc --import=${pathToFileURL(join(ROOT, 'scripts/bench/memory-probe.mjs')).href} ${process.env.BENCH_NODE_OPTIONS ?? ''}` },
});
const load = new Agent({ connections: CONNECTIONS, pipelining: 1 });
const reads = new Agent({ connections: 2 });
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const MB = (b: number) => fmt(b / 1048576, 1);

async function once(kind: Kind, i: number): Promise<string | undefined> {
  const controller = new AbortController();
  try {
    const res = await request(`${node.url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: load,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bodyFor(kind, i)),
      signal: controller.signal,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    if (kind === 'disconnect') {
      // Leave after the first bytes of the stream: the node must stop its upstream call and forget the request.
      for await (const _ of res.body) break;
      controller.abort();
      return res.statusCode === 200 ? undefined : `disconnect: ${res.statusCode}`;
    }
    const text = await res.body.text();
    if (kind === 'upstream-error') return res.statusCode === 502 ? undefined : `upstream-error: ${res.statusCode} ${text.slice(0, 120)}`;
    if (res.statusCode !== 200) return `${kind}: ${res.statusCode} ${text.slice(0, 120)}`;
    if (kind === 'stream' && !text.trimEnd().endsWith('data: [DONE]')) return 'stream: no [DONE]';
    if (kind === 'cache-hit' && i >= 40 && res.headers['x-flowrouter-cache'] !== 'hit') return `cache-hit: ${String(res.headers['x-flowrouter-cache'])}`;
    return undefined;
  } catch (err) {
    return kind === 'disconnect' && controller.signal.aborted ? undefined : `${kind}: ${(err as Error).message}`;
  }
}

let loopMax = 0;
let busyMax = 0;

/** The slowest status read and metrics scrape since the last report, and overall. */
const slowest = { status: 0, metrics: 0 };
const worst = { status: 0, metrics: 0 };
const readTook = (which: ReadTime['which'], ms: number): void => {
  slowest[which] = Math.max(slowest[which], ms);
  worst[which] = Math.max(worst[which], ms);
};
/** Once the load is over (this process idle), a read timed from here. */
async function timedRead(path: string, which: ReadTime['which']): Promise<void> {
  const started = performance.now();
  const res = await request(`${node.url}${path}`, { dispatcher: reads });
  await res.body.text();
  readTook(which, performance.now() - started);
}
// During the load, a status read and a metrics scrape every READ_EVERY_MS from a process of their own: timed here,
// they would also count this process's event loop, saturated by the load it generates.
const reader =
  READ_EVERY_MS > 0
    ? fork(join(ROOT, 'scripts/bench/memory-reader.ts'), [node.url, String(READ_EVERY_MS)], {
        execArgv: ['--disable-warning=ExperimentalWarning'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : undefined;
/** Once stopped, the reader has left (a later probe has nothing to pause). */
const tellReader = (type: 'pause' | 'resume' | 'stop'): void => {
  if (reader?.connected) reader.send({ type });
};
reader?.on('message', (m: ReadTime) => {
  if (m?.type === 'read') readTook(m.which, m.ms);
});

/** Runs requests `from`…`to - 1` on CONNECTIONS workers, calling `report` every EVERY requests. */
async function run(from: number, to: number, report?: (done: number) => Promise<void>): Promise<Map<string, number>> {
  const errors = new Map<string, number>();
  let next = from;
  let reporting = Promise.resolve();
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const error = await once(MIX[i % MIX.length], i);
      if (error) errors.set(error, (errors.get(error) ?? 0) + 1);
      const done = i + 1 - from;
      if (report && done % EVERY === 0) reporting = reporting.then(() => report(done));
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  await reporting;
  return errors;
}

let exitCode = 0;
try {
  await new Promise((r) => setTimeout(r, 2_000));
  const cold = await probe(node);
  const load1 = () =>
    loadavg()
      .map((l) => fmt(l, 1))
      .join(' ');
  process.stdout.write(`memory: ${REQUESTS} requests at ${CONNECTIONS} connections through one node (pid ${node.proc.pid}); load average ${load1()}\n`);
  process.stdout.write(`idle after start: heap ${MB(cold.heapUsed)} MB, RSS ${MB(cold.rss)} MB\n`);
  // Warm-up: every kind of request once per connection and more, so that what loads on first use (the tokenizer,
  // the request schemas, connection pools, JIT) is in the idle figure the load is compared with.
  await run(0, WARMUP);
  await new Promise((r) => setTimeout(r, 2_000));
  const idle = await probe(node);
  process.stdout.write(`idle after ${WARMUP} warm-up requests: heap ${MB(idle.heapUsed)} MB, RSS ${MB(idle.rss)} MB\n`);
  slowest.status = slowest.metrics = worst.status = worst.metrics = 0;

  const points: { requests: number; heap: number; rss: number }[] = [];
  let windowStart = performance.now();
  process.stdout.write(
    `${'requests'.padStart(9)} ${'req/s'.padStart(7)} ${'heap MB'.padStart(8)} ${'RSS MB'.padStart(7)} ${'loop p99'.padStart(9)} ${'loop max'.padStart(9)} ${'GC max'.padStart(7)} ${'busy max'.padStart(9)} ${'status ms'.padStart(10)} ${'metrics ms'.padStart(11)}\n`,
  );
  const errors = await run(WARMUP, WARMUP + REQUESTS, async (done) => {
    const p = await probe(node);
    const rate = EVERY / ((performance.now() - windowStart) / 1000);
    points.push({ requests: done, heap: p.heapUsed, rss: p.rss });
    process.stdout.write(
      `${String(done).padStart(9)} ${fmt(rate, 0).padStart(7)} ${MB(p.heapUsed).padStart(8)} ${MB(p.rss).padStart(7)} ${fmt(p.p99Ms).padStart(9)} ${fmt(p.maxMs).padStart(9)} ${fmt(p.gcMaxMs).padStart(7)} ${fmt(p.busyMaxMs).padStart(9)} ${fmt(slowest.status).padStart(10)} ${fmt(slowest.metrics).padStart(11)}\n`,
    );
    loopMax = Math.max(loopMax, p.maxMs);
    busyMax = Math.max(busyMax, p.busyMaxMs);
    slowest.status = slowest.metrics = 0;
    windowStart = performance.now();
  });
  tellReader('stop');
  // Longer than V8's memory reducer waits (8 s) before it gives back what the load made the heap grow to.
  await new Promise((r) => setTimeout(r, AFTER_LOAD_MS));
  const after = await probe(node);
  const afterRss = rssOf(node.proc.pid!);
  // What one read costs once the load is over: it must not depend on how many requests were served.
  slowest.status = slowest.metrics = 0;
  for (let i = 0; i < 20; i++) {
    await timedRead('/v1/router/status', 'status');
    await timedRead('/metrics', 'metrics');
  }
  const quietReads = { ...slowest };
  if (!reader) worst.status = worst.metrics = 0;

  // Least squares over the points after the first fifth of the run: before that V8 still flushes the bytecode of
  // start-up code and caches and pools fill, which would tilt the line either way.
  const fit = points.length >= 5 ? points.filter((p) => p.requests > REQUESTS / 5) : points;
  const mean = (f: (p: (typeof fit)[number]) => number) => fit.reduce((s, p) => s + f(p), 0) / fit.length;
  const mx = mean((p) => p.requests);
  const my = mean((p) => p.heap);
  const slope =
    fit.reduce((s, p) => s + (p.requests - mx) * (p.heap - my), 0)
    / Math.max(
      1,
      fit.reduce((s, p) => s + (p.requests - mx) ** 2, 0),
    );
  const first = points[0];
  const last = points.at(-1)!;
  const rssGrowth = (last.rss - first.rss) / first.rss;
  const failed = [...errors.values()].reduce((a, b) => a + b, 0);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines = [
    `after the load (${AFTER_LOAD_MS / 1000} s idle): heap ${MB(after.heapUsed)} MB (V8 holds ${MB(after.heapTotal)}, external ${MB(after.external)}), RSS ${MB(afterRss)} MB (${fmt(afterRss / idle.rss)}× idle after warm-up, ${fmt(afterRss / cold.rss)}× idle after start); load average ${load1()}`,
    `status read / metrics scrape on the quiet node afterwards: slowest of 20 ${fmt(quietReads.status)} / ${fmt(quietReads.metrics)} ms${reader ? '' : ' (the first ones after a load with no reads)'}`,
    `heap slope: ${fmt(slope, 3)} bytes per request (target ≤ ${TARGET.slopeBytes}) — ${verdict(slope <= TARGET.slopeBytes)}`,
    `RSS at ${last.requests} vs ${first.requests}: ${MB(last.rss)} vs ${MB(first.rss)} MB, ${fmt(100 * rssGrowth, 1)} % (target ≤ ${100 * TARGET.rssGrowth} %) — ${verdict(rssGrowth <= TARGET.rssGrowth)}`,
    `RSS after load: ${fmt(afterRss / idle.rss)}× idle after warm-up (target ≤ ${TARGET.rssAfterIdle}×) — ${verdict(afterRss / idle.rss <= TARGET.rssAfterIdle)}`,
    `event-loop delay max: ${fmt(loopMax)} ms (target < ${TARGET.loopMaxMs}) — ${verdict(loopMax < TARGET.loopMaxMs)}; the longest the main thread itself ran between two 5 ms ticks: ${fmt(busyMax)} ms of CPU`,
    reader
      ? `slowest status read ${fmt(worst.status)} ms, metrics scrape ${fmt(worst.metrics)} ms (target ≤ ${TARGET.readMs}) — ${verdict(Math.max(worst.status, worst.metrics) <= TARGET.readMs)}`
      : 'no reads during the load (--read-every-ms=0)',
    `unexpected answers: ${failed}${
      failed
        ? ` (${[...errors]
            .slice(0, 5)
            .map(([e, n]) => `${n}× ${e}`)
            .join('; ')})`
        : ''
    }`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failed > 0) exitCode = 1;
} catch (err) {
  process.stderr.write(`memory benchmark failed: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  tellReader('stop');
  await node.stop();
  await upstream.stop();
  await load.close();
  await reads.close();
}
process.exit(exitCode);
