// Cache benchmark: hit vs miss vs a direct call to a zero-latency fake upstream (latency and throughput), plus gateway-internal costs.
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/cache.ts [requests=2000] [concurrency=16]
import { createServer } from 'node:http';
import { join } from 'node:path';
import { request, Agent } from 'undici';
import { startFakeOpenAI } from '../../test/fakes/openai.ts';
import { startTestNode, tempDir } from '../../test/helpers.ts';
import { openDatabase } from '../../src/core/database.ts';
import { cacheKey, cacheLayer } from '../../src/cache/index.ts';
import { UsageLedger, usageLayer, type UsageRow } from '../../src/usage/index.ts';
import { createContext, pipeline, type Handler, type Layer } from '../../src/pipeline/index.ts';
import { promptTokens } from '../../src/router/index.ts';
import type { ChatRequest } from '../../src/core/openai.ts';

const N = Number(process.argv[2] ?? 2000);
const C = Number(process.argv[3] ?? 16);
const agent = new Agent({ connections: C * 2, keepAliveTimeout: 30_000 });

async function post(url: string, body: unknown): Promise<{ status: number; cache: string | undefined }> {
  const res = await request(`${url}/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.text();
  return { status: res.statusCode, cache: res.headers['x-flowrouter-cache'] as string | undefined };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sequential latency (one request at a time) then throughput with C workers. */
async function measure(name: string, url: string, bodyOf: (i: number) => unknown, expectCache?: string) {
  for (let i = 0; i < 50; i++) await post(url, bodyOf(-1 - i));
  const lat: number[] = [];
  for (let i = 0; i < Math.min(N, 1000); i++) {
    const t = performance.now();
    const r = await post(url, bodyOf(i));
    lat.push(performance.now() - t);
    if (r.status !== 200 || (expectCache && r.cache !== expectCache)) throw new Error(`${name}: got ${r.status} ${r.cache}`);
  }
  lat.sort((a, b) => a - b);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await post(url, bodyOf(100_000 + next++));
    }),
  );
  const rps = N / ((performance.now() - start) / 1000);
  return { name, p50: pct(lat, 50), p99: pct(lat, 99), mean: lat.reduce((a, b) => a + b, 0) / lat.length, rps };
}

function microseconds(fn: () => void, runs = 20_000): number {
  for (let i = 0; i < 1000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return ((performance.now() - t) * 1000) / runs;
}

/** The floor: an HTTP server that reads the request and answers a constant body, doing nothing else. */
function startEmptyServer(): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'gpt-4o-mini', choices: [] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    }),
  );
}

const fake = await startFakeOpenAI();
const empty = await startEmptyServer();
const gw = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-bench
      url: ${fake.url}
`);
try {
  const messages = (text: string) => [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: text },
  ];
  const hitBody = { model: 'gpt-4o-mini', temperature: 0, messages: messages('what is the cache hit latency?') };
  await post(gw.baseURL, hitBody);
  const results = [
    await measure('direct upstream (fake, zero latency)', fake.url, (i) => ({ model: 'gpt-4o-mini', temperature: 0, messages: messages(`direct ${i}`) })),
    await measure(
      'gateway, cache miss',
      gw.baseURL,
      (i) => ({ model: 'gpt-4o-mini', temperature: 0, messages: messages(`miss ${i} ${Math.random()}`) }),
      'miss',
    ),
    await measure('gateway, cache hit', gw.baseURL, () => hitBody, 'hit'),
    await measure('floor: HTTP server doing nothing', empty.url, () => hitBody),
  ];
  const rows = results.map(
    (r) =>
      `${r.name.padEnd(38)} p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(7)} ms   mean ${r.mean.toFixed(3).padStart(7)} ms   ${Math.round(r.rps).toString().padStart(6)} req/s (${C} concurrent)`,
  );
  process.stdout.write(`requests per phase: ${N}\n${rows.join('\n')}\n`);
  const [direct, miss, hit, floor] = results;
  process.stdout.write(`hit vs direct upstream: ${(direct.p50 / hit.p50).toFixed(2)}× faster at p50, ${(hit.rps / direct.rps).toFixed(2)}× the throughput\n`);
  process.stdout.write(`hit vs miss: ${(miss.p50 / hit.p50).toFixed(2)}× faster at p50\n`);
  process.stdout.write(
    `floor vs direct upstream: ${(direct.p50 / floor.p50).toFixed(2)}× faster at p50 — no server answering over this HTTP client can be faster than the floor\n`,
  );

  // Gateway time of a hit without the network: fastify inject through validation, every layer and serialization.
  const injectTimes: number[] = [];
  const payload = JSON.stringify(hitBody);
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    const r = await gw.node.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, payload });
    if (i >= 500) injectTimes.push(performance.now() - t);
    if (r.headers['x-flowrouter-cache'] !== 'hit') throw new Error('inject: expected a hit');
  }
  injectTimes.sort((a, b) => a - b);
  process.stdout.write(
    `hit, in-process (fastify inject, all layers incl. usage row): p50 ${pct(injectTimes, 50).toFixed(3)} ms, p99 ${pct(injectTimes, 99).toFixed(3)} ms\n`,
  );
  // The token saver's own share of a hit: the usage and cache layers (fingerprint, key, lookup, ledger journal append).
  const config = () => gw.node.router.currentConfig;
  const unreachable: Handler<'chat'> = async () => {
    throw new Error('a hit must not reach the router');
  };
  const route: Layer<'chat'> = (next) => (req, ctx) => {
    ctx.trace.route = gw.node.router.resolve(req, ctx);
    return next(req, ctx);
  };
  const service = pipeline(
    [usageLayer({ ledger: gw.node.usage, prices: gw.node.prices, config }), route, cacheLayer({ store: gw.node.cache, config })],
    unreachable,
  );
  const layerTimes: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const t0 = performance.now();
    await service(
      hitBody as ChatRequest,
      createContext({ requestId: `bench-${i}`, operation: 'chat', signal: AbortSignal.timeout(10_000), countPrompt: () => promptTokens(hitBody) }),
    );
    if (i >= 1000) layerTimes.push(performance.now() - t0);
  }
  layerTimes.sort((a, b) => a - b);
  process.stdout.write(
    `hit, token-saver layers only (usage + cache, no HTTP/fastify): p50 ${(pct(layerTimes, 50) * 1000).toFixed(1)} µs, p99 ${(pct(layerTimes, 99) * 1000).toFixed(1)} µs\n`,
  );
  const key = cacheKey(hitBody as never, 'default|gpt-4o-mini');
  process.stdout.write(
    `  of which cache key (normalize + canonical JSON + sha256): ${microseconds(() => cacheKey(hitBody as never, 'default|gpt-4o-mini')).toFixed(1)} µs, store lookup (prepared SELECT + checksum + parse): ${microseconds(() => gw.node.cache.get(key)).toFixed(1)} µs\n`,
  );

  // Ledger write cost on the request path, three ways to be durable (or not) across a kill.
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'ledger.db'));
  let seq = 0;
  const row = (): UsageRow => ({
    ts: Date.now(),
    requestId: `r${seq++}`,
    chain: 'default',
    target: 't',
    provider: 'openai',
    model: 'gpt-4o-mini',
    clientId: null,
    fingerprint: '0123456789abcdef',
    stream: false,
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 0,
    usageSource: 'provider',
    cost: 0.00001,
    costSaved: 0,
    latencyMs: 1,
    firstByteMs: 1,
    status: 200,
    errorCode: null,
    cache: 'miss',
    tokensSaved: 0,
  });
  const perRow = new UsageLedger(db, { flushMs: 60_000 });
  const commitUs = microseconds(() => {
    perRow.record(row());
    perRow.flush();
  }, 5000);
  perRow.stop();
  const journaled = new UsageLedger(db, { flushMs: 60_000, journal: join(dir.path, 'usage.journal') });
  const journalUs = microseconds(() => journaled.record(row()), 5000);
  let t = performance.now();
  journaled.flush();
  const journalFlushUs = ((performance.now() - t) * 1000) / 6000;
  journaled.stop();
  const batch = new UsageLedger(db, { flushMs: 60_000 });
  const batchUs = microseconds(() => batch.record(row()), 5000);
  t = performance.now();
  batch.flush();
  const batchFlushUs = ((performance.now() - t) * 1000) / 6000;
  batch.stop();
  db.close();
  dir.remove();
  process.stdout.write(
    `ledger, per row on the request path: commit each row ${commitUs.toFixed(1)} µs; journal append ${journalUs.toFixed(1)} µs (+ ${journalFlushUs.toFixed(1)} µs/row at batch commit); queue only ${batchUs.toFixed(2)} µs (+ ${batchFlushUs.toFixed(1)} µs/row at batch commit)\n`,
  );
} finally {
  await gw.stop();
  await fake.close();
  await empty.close();
  await agent.close();
}
