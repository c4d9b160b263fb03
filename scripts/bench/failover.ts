// Benchmark: time a dead first target adds to a request (refused; hanging with its breaker open) versus a healthy chain.
// Run: node_modules/.bin/node scripts/bench/failover.ts [requests per scenario, default 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { startFakeOpenAI } from '../../test/fakes/openai.ts';

const N = Number(process.argv[2] ?? 300);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startNode(yaml: string, dir: string): Promise<{ node: FlowRouterNode; url: string }> {
  const node = new FlowRouterNode(parseConfig(yaml, 'bench.yaml', {}, { host: '127.0.0.1', port: 0, dataDir: dir }));
  return { node, url: (await node.start()).url };
}

async function timeChain(url: string, chain: string, expectTarget: string, n = N, warmup = 100): Promise<number[]> {
  const body = JSON.stringify({ model: chain, messages: [{ role: 'user', content: 'ping' }] });
  const once = async () => {
    const t = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    const ms = performance.now() - t;
    if (res.headers.get('x-flowrouter-target') !== expectTarget)
      throw new Error(`${chain}: answered by ${res.headers.get('x-flowrouter-target')} (${res.status})`);
    return ms;
  };
  for (let i = 0; i < warmup; i++) await once(); // warm-up: connections, JIT, and (where configured) opening the breaker
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await once());
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

const good = await startFakeOpenAI();
const hang = await startFakeOpenAI(() => true); // accepts, never answers
const dead = await closedPort();
const dir = mkdtempSync(join(tmpdir(), 'flowrouter-bench-'));
const chains = (breakerFailures: number) => `
chains:
  healthy:
    - { provider: openai, name: good, model: m, url: "${good.url}" }
  refused:
    - { provider: openai, name: dead, model: m, url: "http://127.0.0.1:${dead}/v1" }
    - { provider: openai, name: good, model: m, url: "${good.url}" }
  hanging:
    - { provider: openai, name: hang, model: m, url: "${hang.url}", timeouts: { first_byte_ms: 200 } }
    - { provider: openai, name: good, model: m, url: "${good.url}" }
router: { breaker_failures: ${breakerFailures}, breaker_cooldown_ms: 600000 }
`;
const noBreaker = await startNode(chains(1_000_000), join(dir, 'a'));
const withBreaker = await startNode(chains(3), join(dir, 'b'));

try {
  const rows: [string, number[]][] = [
    // A long warm-up on the baseline, so JIT and connection set-up do not count against it.
    ['healthy chain', await timeChain(withBreaker.url, 'healthy', 'good', N, 1000)],
    ['dead first target: refused, breaker closed', await timeChain(noBreaker.url, 'refused', 'good')],
    ['dead first target: refused, breaker open', await timeChain(withBreaker.url, 'refused', 'good')],
    // Without a breaker a hanging target costs its whole first-byte timeout on every request: a few samples suffice.
    ['dead first target: hanging, breaker closed', await timeChain(noBreaker.url, 'hanging', 'good', 5, 1)],
    ['dead first target: hanging, breaker open', await timeChain(withBreaker.url, 'hanging', 'good')],
  ];
  const base = pct(rows[0][1], 0.5);
  console.log(`failover overhead, sequential requests (${N} per scenario, 5 for hanging without breaker) (ms, through HTTP on loopback)`);
  console.log(['scenario'.padEnd(44), 'p50', 'p95', 'mean', 'added p50'].join('\t'));
  for (const [name, xs] of rows) {
    console.log([name.padEnd(44), pct(xs, 0.5).toFixed(3), pct(xs, 0.95).toFixed(3), mean(xs).toFixed(3), (pct(xs, 0.5) - base).toFixed(3)].join('\t'));
  }
} finally {
  await noBreaker.node.stop();
  await withBreaker.node.stop();
  await good.close();
  await hang.close();
  rmSync(dir, { recursive: true, force: true });
}
