// Gateway overhead: the same load straight to a fake upstream and through a node; throughput, latency and stream TTFT.
// Then the other client APIs (Anthropic Messages, OpenAI Responses), translated and passed through, each against its
// own upstream called directly.
import { request } from 'undici';
import { fmt, load, percentile, spawnUntil, startFakeAnthropicUpstream, startFakeUpstream, startNode, type LoadResult } from './lib.ts';

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const seconds = arg('seconds', 5);
// A realistic prompt is kilobytes of prose (RAG context, agent history), which the gateway normalizes and fingerprints.
const promptKb = arg('prompt-kb', 0);
const prose = 'The gateway reads this paragraph of context,  keeps its meaning and   trims its spacing; order 4711 shipped.\n\n';
const content = `Say something short.${promptKb > 0 ? `\n\n${prose.repeat(Math.ceil((promptKb * 1024) / prose.length))}` : ''}`;
const upstream = await startFakeUpstream();
const anthropic = await startFakeAnthropicUpstream();
const node = await startNode(`chains:
  default:
    - { model: bench-model, provider: local, url: "${upstream.url}" }
  claude:
    - { model: claude-bench, provider: anthropic, key: sk-ant-bench-0000, url: "${anthropic.url}" }
  native:
    - { model: bench-model, provider: openai, key: sk-bench-00000000, url: "${upstream.url}", api: responses }
`);
// The floor: what the thinnest possible Node proxy (no parsing, no features) costs on this machine.
const floor = await spawnUntil(['scripts/bench/floor-proxy.ts', upstream.url], /listening on (http:\/\/\S+?)\/v1/);
const body = { model: 'bench-model', messages: [{ role: 'user', content }] };

async function ttft(
  url: string,
  n: number,
  streamBody: unknown = { ...body, stream: true },
  headers: Record<string, string> = {},
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(streamBody) });
    for await (const _chunk of res.body) {
      times.push(performance.now() - t0);
      break;
    }
    await res.body.dump();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * One client API through the node against the same upstream called directly: added time per request at one
 * connection, the throughput ratio at 32, and the added stream time to first byte.
 */
interface ApiRow {
  name: string;
  via: string;
  viaBody: object;
  direct: string;
  directBody: object;
  directHeaders?: Record<string, string>;
}

async function clientApiRows(): Promise<string[]> {
  const anthropicHeaders = { 'x-api-key': 'sk-ant-bench-0000', 'anthropic-version': '2023-06-01' };
  const messages = [{ role: 'user', content }];
  const apiRows: ApiRow[] = [
    {
      name: '/v1/messages → local (translated)',
      via: `${node.url}/v1/messages`,
      viaBody: { model: 'default', max_tokens: 64, messages },
      direct: `${upstream.url}/chat/completions`,
      directBody: body,
    },
    {
      name: '/v1/messages → anthropic (passthrough)',
      via: `${node.url}/v1/messages`,
      viaBody: { model: 'claude', max_tokens: 64, messages },
      direct: `${anthropic.url}/messages`,
      directBody: { model: 'claude-bench', max_tokens: 64, messages },
      directHeaders: anthropicHeaders,
    },
    {
      name: '/v1/responses → local (translated)',
      via: `${node.url}/v1/responses`,
      viaBody: { model: 'default', input: content, store: false },
      direct: `${upstream.url}/chat/completions`,
      directBody: body,
    },
    {
      name: '/v1/responses → openai api: responses (passthrough)',
      via: `${node.url}/v1/responses`,
      viaBody: { model: 'native', input: content, store: false },
      direct: `${upstream.url}/responses`,
      directBody: { model: 'bench-model', input: content, store: false },
    },
  ];
  const out: string[] = ['client APIs (each against its own upstream called directly; store: false, so no storage write):'];
  for (const r of apiRows) {
    await load(r.via, r.viaBody, 4, 1);
    const at: Record<number, { direct: LoadResult; via: LoadResult }> = {};
    for (const c of [1, 32]) at[c] = { direct: await load(r.direct, r.directBody, c, seconds, r.directHeaders), via: await load(r.via, r.viaBody, c, seconds) };
    const added = (1 / at[1].via.rps - 1 / at[1].direct.rps) * 1000;
    const t0 = await ttft(r.direct, 100, { ...r.directBody, stream: true }, r.directHeaders);
    const t1 = await ttft(r.via, 100, { ...r.viaBody, stream: true });
    out.push(
      `  ${r.name.padEnd(52)} c=1 ${fmt(at[1].via.rps, 0).padStart(6)} req/s, added ${fmt(added, 3)} ms/request | c=32 ratio ${fmt(at[32].via.rps / at[32].direct.rps)} | stream TTFT added p50 ${fmt(t1.p50 - t0.p50, 3)} ms | errors ${at[1].via.errors + at[32].via.errors}`,
    );
  }
  return out;
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
    rows.push(
      `c=${String(connections).padEnd(3)} direct ${fmt(direct.rps, 0).padStart(7)} req/s p50 ${fmt(direct.p50)} ms p99 ${fmt(direct.p99)} ms | gateway ${fmt(via.rps, 0).padStart(7)} req/s p50 ${fmt(via.p50)} ms p99 ${fmt(via.p99)} ms | throughput ratio ${fmt(via.rps / direct.rps)} ${added(via)} | errors ${direct.errors}/${via.errors}`,
    );
    rows.push(`       floor: thinnest Node proxy ${fmt(thin.rps, 0).padStart(7)} req/s | throughput ratio ${fmt(thin.rps / direct.rps)}${added(thin)}`);
  }
  const d = await ttft(`${upstream.url}/chat/completions`, 300);
  const g = await ttft(`${node.url}/v1/chat/completions`, 300);
  rows.push(
    `stream TTFT  direct p50 ${fmt(d.p50, 3)} ms p99 ${fmt(d.p99, 3)} ms | gateway p50 ${fmt(g.p50, 3)} ms p99 ${fmt(g.p99, 3)} ms | added p50 ${fmt(g.p50 - d.p50, 3)} ms`,
  );
  rows.push(...(await clientApiRows()));
  process.stdout.write(
    `overhead benchmark (${seconds}s per run, loopback, fake upstream with no latency, prompt ${(content.length / 1024).toFixed(1)} KB)\n${rows.join('\n')}\n`,
  );
} finally {
  await node.stop();
  await floor.stop();
  await upstream.stop();
  await anthropic.stop();
}
