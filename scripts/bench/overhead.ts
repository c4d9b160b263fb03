// Gateway overhead: the same load straight to a fake upstream and through a node; throughput, latency and stream TTFT.
import { request } from 'undici';
import { fmt, load, percentile, spawnUntil, startFakeUpstream, startNode } from './lib.ts';

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const seconds = arg('seconds', 5);
// A realistic prompt is kilobytes of prose (RAG context, agent history), which the gateway normalizes and fingerprints.
const promptKb = arg('prompt-kb', 0);
const prose = 'The gateway reads this paragraph of context,  keeps its meaning and   trims its spacing; order 4711 shipped.\n\n';
const content = `Say something short.${promptKb > 0 ? `\n\n${prose.repeat(Math.ceil((promptKb * 1024) / prose.length))}` : ''}`;
const upstream = await startFakeUpstream();
const node = await startNode(`chains:\n  default:\n    - model: bench-model\n      provider: local\n      url: ${upstream.url}\n`);
// The floor: what the thinnest possible Node proxy (no parsing, no features) costs on this machine.
const floor = await spawnUntil(['scripts/bench/floor-proxy.ts', upstream.url], /listening on (http:\/\/\S+?)\/v1/);
const body = { model: 'bench-model', messages: [{ role: 'user', content }] };

async function ttft(base: string, n: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await request(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
    for await (const _chunk of res.body) { times.push(performance.now() - t0); break; }
    await res.body.dump();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

try {
  // Warm both paths (JIT, keep-alive pools).
  await load(`${upstream.url}/chat/completions`, body, 8, 1);
  await load(`${node.url}/v1/chat/completions`, body, 8, 1);
  await load(`${floor.url}/v1/chat/completions`, body, 8, 1);
  const rows: string[] = [];
  for (const connections of [1, 32]) {
    const direct = await load(`${upstream.url}/chat/completions`, body, connections, seconds);
    const via = await load(`${node.url}/v1/chat/completions`, body, connections, seconds);
    const thin = await load(`${floor.url}/v1/chat/completions`, body, connections, seconds);
    // At one connection, time per request is 1/rps (autocannon's latencies are whole milliseconds); at 32 it is queueing.
    const added = (r: { rps: number }) => (connections === 1 ? ` | added per request ${fmt((1 / r.rps - 1 / direct.rps) * 1000, 3)} ms` : '');
    rows.push(`c=${String(connections).padEnd(3)} direct ${fmt(direct.rps, 0).padStart(7)} req/s p50 ${fmt(direct.p50)} ms p99 ${fmt(direct.p99)} ms | gateway ${fmt(via.rps, 0).padStart(7)} req/s p50 ${fmt(via.p50)} ms p99 ${fmt(via.p99)} ms | throughput ratio ${fmt(via.rps / direct.rps)} ${added(via)} | errors ${direct.errors}/${via.errors}`);
    rows.push(`       floor: thinnest Node proxy ${fmt(thin.rps, 0).padStart(7)} req/s | throughput ratio ${fmt(thin.rps / direct.rps)}${added(thin)}`);
  }
  const d = await ttft(upstream.url, 300);
  const g = await ttft(`${node.url}/v1`, 300);
  rows.push(`stream TTFT  direct p50 ${fmt(d.p50, 3)} ms p99 ${fmt(d.p99, 3)} ms | gateway p50 ${fmt(g.p50, 3)} ms p99 ${fmt(g.p99, 3)} ms | added p50 ${fmt(g.p50 - d.p50, 3)} ms`);
  process.stdout.write(`overhead benchmark (${seconds}s per run, loopback, fake upstream with no latency, prompt ${(content.length / 1024).toFixed(1)} KB)\n${rows.join('\n')}\n`);
} finally {
  await node.stop();
  await floor.stop();
  await upstream.stop();
}
