// Start-up and memory: time from process spawn to the first 200 on /ready, and RSS idle and under load (Pi targets: ≤ 1 s, ≤ 90 MB idle).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMeshSecret } from '../../src/mesh/index.ts';
import { ROOT, fmt, load, percentile, startFakeUpstream } from './lib.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const RUNS = Number(arg('runs') ?? 5);
const LOAD_SECONDS = Number(arg('seconds') ?? 3);
/** Extra Node/V8 flags for every started node (e.g. `--node-options=--max-semi-space-size=2`), passed as NODE_OPTIONS. */
const NODE_OPTIONS = arg('node-options');
/** Only the cases whose label contains this text (e.g. `--only=build`). */
const ONLY = arg('only');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resident memory in MB from /proc (Linux); `RssAnon` leaves out the file-backed pages of the node binary and libraries. */
function rssMb(pid: number, field: 'VmRSS' | 'RssAnon' = 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN) / 1024;
}

/** CPU time (user + system) the process has used, in ms: unlike wall time, hardly moved by other load on the machine. */
function cpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line, in 1/100 s.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (proc.exitCode !== null) return done();
    proc.once('exit', () => done());
    proc.kill('SIGTERM');
  });
}

/** How a node is started: what production runs (bin/flowrouter on the dist/ build) or the TypeScript sources directly. */
type Entry = 'build' | 'source';

interface Started {
  proc: ChildProcess;
  url: string;
  readyMs: number;
  readyCpuMs: number;
  meshUp: Promise<number>;
  stop(): Promise<void>;
}

/** A node's data directory with its config and mesh secret: kept across the starts of one case, as an installed node's is. */
function dataDir(configYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowrouter-startup-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml.replaceAll('$DIR', dir));
  writeFileSync(join(dir, 'mesh.key'), generateMeshSecret(), { mode: 0o600 });
  return dir;
}

/** Spawns `flowrouter start` and polls /ready every 5 ms; resolves with ms from spawn to the first 200 (and later to "mesh listening"). */
async function spawnNode(entry: Entry, dir: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['start', '--config', join(dir, 'config.yaml'), '--port', String(port), '--data-dir', dir, '--log-level', 'error'];
  const t0 = performance.now();
  const [cmd, argv] =
    entry === 'build' ? [join(ROOT, 'bin/flowrouter'), args] : [process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/entry.ts', ...args]];
  const proc = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const meshUp = new Promise<number>((resolve) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('mesh listening on')) resolve(performance.now() - t0);
    });
    proc.once('exit', () => resolve(NaN));
  });
  const stopNode = () => stop(proc);
  const deadline = t0 + 15_000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(500) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { proc, url, readyMs: performance.now() - t0, readyCpuMs: cpuMs(proc.pid!), meshUp, stop: stopNode };
    await new Promise((r) => setTimeout(r, 5));
  }
  await stopNode();
  throw new Error('the node did not become ready within 15 s');
}

async function measure(label: string, entry: Entry, yaml: string, mesh: boolean, env: NodeJS.ProcessEnv): Promise<string> {
  const ready: number[] = [];
  const cpu: number[] = [];
  const up: number[] = [];
  const dir = dataDir(yaml);
  // One untimed first start creates the database and the node's key and fills the compile cache (when on), as the
  // first start after an install does; the timed ones are restarts.
  await (await spawnNode(entry, dir, env)).stop();
  for (let i = 0; i < RUNS; i++) {
    const n = await spawnNode(entry, dir, env);
    ready.push(n.readyMs);
    cpu.push(n.readyCpuMs);
    if (mesh) up.push(await Promise.race([n.meshUp, new Promise<number>((r) => setTimeout(() => r(NaN), 10_000))]));
    await n.stop();
  }
  const n = await spawnNode(entry, dir, env);
  try {
    // Idle means everything has started, the mesh included, and settled for a few seconds.
    if (mesh) await Promise.race([n.meshUp, new Promise((r) => setTimeout(r, 10_000))]);
    await new Promise((r) => setTimeout(r, 3000));
    const pid = n.proc.pid!;
    const idle = rssMb(pid);
    const idleAnon = rssMb(pid, 'RssAnon');
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 100);
    const body = { model: 'bench-model', messages: [{ role: 'user', content: 'Say something short.' }] };
    const r = await load(`${n.url}/v1/chat/completions`, body, 16, LOAD_SECONDS);
    clearInterval(sampler);
    await new Promise((res) => setTimeout(res, 1000));
    const after = rssMb(pid);
    ready.sort((a, b) => a - b);
    up.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    return (
      `${label.padEnd(34)} start→ready p50 ${fmt(percentile(ready, 50), 0)} ms (min ${fmt(ready[0], 0)}, max ${fmt(ready.at(-1)!, 0)}, ${RUNS} runs; CPU ${fmt(percentile(cpu, 50), 0)} ms)`
      + (mesh ? `, mesh up p50 ${fmt(percentile(up, 50), 0)} ms` : '')
      + ` | RSS idle ${fmt(idle, 1)} MB (anon ${fmt(idleAnon, 1)}), under load peak ${fmt(peak, 1)} MB (${fmt(r.rps, 0)} req/s, 16 conn, ${LOAD_SECONDS} s), after ${fmt(after, 1)} MB`
    );
  } finally {
    await n.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// What production starts: bring dist/ up to date first, as scripts/setup does.
execFileSync('bash', [join(ROOT, 'scripts/build')], { stdio: 'inherit' });
const upstream = await startFakeUpstream();
// The entry point turns the compile cache on (NODE_COMPILE_CACHE picks its directory, as the deployed unit does):
// measured with a fresh directory filled by one untimed start, and switched off as on a first start after an install.
const cacheDir = mkdtempSync(join(tmpdir(), 'flowrouter-compile-cache-'));
const flags = NODE_OPTIONS ? { NODE_OPTIONS } : {};
const cached = { ...flags, NODE_COMPILE_CACHE: cacheDir };
const uncached = { ...flags, NODE_DISABLE_COMPILE_CACHE: '1' };
try {
  const base = `chains:\n  default:\n    - model: bench-model\n      provider: local\n      url: ${upstream.url}\n`;
  // A members-only mesh on loopback: a secret, an allowlist of one (absent) peer, no mDNS, so no LAN traffic.
  const meshYaml = `${base}mesh:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  secret_file: $DIR/mesh.key\n  allowlist: [12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN]\n`;
  console.log(`node ${process.version} on ${process.arch}${NODE_OPTIONS ? `, NODE_OPTIONS=${NODE_OPTIONS}` : ''}`);
  const cases: [string, Entry, string, boolean, NodeJS.ProcessEnv][] = [
    ['build, no mesh', 'build', base, false, cached],
    ['build, mesh', 'build', meshYaml, true, cached],
    ['build, no mesh, no compile cache', 'build', base, false, uncached],
    ['source (.ts), no mesh', 'source', base, false, cached],
    ['source (.ts), mesh', 'source', meshYaml, true, cached],
  ];
  for (const [label, entry, yaml, mesh, env] of cases) {
    if (!ONLY || label.includes(ONLY)) console.log(await measure(label, entry, yaml, mesh, env));
  }
} finally {
  await upstream.stop();
  rmSync(cacheDir, { recursive: true, force: true });
}
