// Start-up and memory: time from process spawn to the first 200 on /ready, and RSS idle and under load (Pi targets: ≤ 1 s, ≤ 90 MB idle).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, fmt, load, percentile, startFakeUpstream } from './lib.ts';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 5);
const LOAD_SECONDS = Number(process.argv.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resident memory in MB from /proc (Linux); `RssAnon` leaves out the file-backed pages of the node binary itself. */
function rssMb(pid: number, field: 'VmRSS' | 'RssAnon' = 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN) / 1024;
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((done) => { if (proc.exitCode !== null) return done(); proc.once('exit', () => done()); proc.kill('SIGTERM'); });
}

/** Spawns `flowrouter start` and polls /ready every 5 ms; resolves with the process and ms from spawn to the first 200. */
async function spawnNode(configYaml: string, env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string; readyMs: number; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'flowrouter-startup-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/entry.ts', 'start', '--config', join(dir, 'config.yaml'),
    '--port', String(port), '--data-dir', dir, '--log-level', 'error'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const cleanup = async () => { await stop(proc); rmSync(dir, { recursive: true, force: true }); };
  const deadline = t0 + 15_000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(500) }).then((r) => r.status === 200, () => false);
    if (ok) return { proc, url, readyMs: performance.now() - t0, cleanup };
    await new Promise((r) => setTimeout(r, 5));
  }
  await cleanup();
  throw new Error('the node did not become ready within 15 s');
}

async function measure(label: string, yaml: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const times: number[] = [];
  // With a compile cache, one untimed run fills it (as the first start after an install would).
  if (env.NODE_COMPILE_CACHE) await (await spawnNode(yaml, env)).cleanup();
  for (let i = 0; i < RUNS; i++) {
    const n = await spawnNode(yaml, env);
    times.push(n.readyMs);
    await n.cleanup();
  }
  const n = await spawnNode(yaml, env);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = rssMb(n.proc.pid!);
    const idleAnon = rssMb(n.proc.pid!, 'RssAnon');
    let peak = idle;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(n.proc.pid!)); }, 100);
    const body = { model: 'bench-model', messages: [{ role: 'user', content: 'Say something short.' }] };
    const r = await load(`${n.url}/v1/chat/completions`, body, 16, LOAD_SECONDS);
    clearInterval(sampler);
    await new Promise((res) => setTimeout(res, 1000));
    const after = rssMb(n.proc.pid!);
    times.sort((a, b) => a - b);
    return `${label.padEnd(28)} start→ready p50 ${fmt(percentile(times, 50), 0)} ms (min ${fmt(times[0], 0)}, max ${fmt(times.at(-1)!, 0)}, ${RUNS} runs) | `
      + `RSS idle ${fmt(idle, 1)} MB (anon ${fmt(idleAnon, 1)}), under load peak ${fmt(peak, 1)} MB (${fmt(r.rps, 0)} req/s, 16 conn, ${LOAD_SECONDS} s), after ${fmt(after, 1)} MB`;
  } finally {
    await n.cleanup();
  }
}

const upstream = await startFakeUpstream();
// The entry point turns the compile cache on (NODE_COMPILE_CACHE picks its directory, as the deployed unit does):
// measured with a fresh directory filled by one untimed start, and switched off as on a first start after an install.
const cacheDir = mkdtempSync(join(tmpdir(), 'flowrouter-compile-cache-'));
const cached = { NODE_COMPILE_CACHE: cacheDir };
const uncached = { NODE_DISABLE_COMPILE_CACHE: '1' };
try {
  const base = `chains:\n  default:\n    - model: bench-model\n      provider: local\n      url: ${upstream.url}\n`;
  console.log(`node ${process.version} on ${process.arch}`);
  console.log(await measure('no mesh, no compile cache', base, uncached));
  console.log(await measure('no mesh, compile cache', base, cached));
  // A mesh on loopback that admits one (absent) peer: membership is required, and no LAN traffic.
  const meshYaml = `${base}mesh:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  allowlist: [12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN]\n`;
  console.log(await measure('with mesh, no compile cache', meshYaml, uncached));
  console.log(await measure('with mesh, compile cache', meshYaml, cached));
} finally {
  await upstream.stop();
  rmSync(cacheDir, { recursive: true, force: true });
}
