// Shared pieces for benchmarks: child processes for upstream and node, autocannon runs, percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

export const ROOT = resolve(import.meta.dirname, '../..');
const NODE = process.execPath;

export interface Child {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Run this executable with `args` instead of Node with a script. */
  command?: string;
  /** Open an IPC channel to the child (process.send/`message`). */
  ipc?: boolean;
}

/** Spawns a script and waits for the first line matching `pattern` on stdout; its first capture group is the URL. */
export async function spawnUntil(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}, opts: SpawnOptions = {}): Promise<Child> {
  const [command, argv] = opts.command ? [opts.command, args] : [NODE, ['--disable-warning=ExperimentalWarning', ...args]];
  const stdio: ('ignore' | 'pipe' | 'inherit' | 'ipc')[] = ['ignore', 'pipe', 'inherit', ...(opts.ipc ? ['ipc' as const] : [])];
  const proc = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${args.join(' ')}`)), 15_000);
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
  proc.stdout!.resume();
  return {
    proc,
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        proc.kill('SIGTERM');
      }),
  };
}

export function startFakeUpstream(): Promise<Child> {
  return spawnUntil(['scripts/bench/fake-upstream.ts'], /listening (\S+)/);
}

export function startFakeAnthropicUpstream(): Promise<Child> {
  return spawnUntil(['scripts/bench/fake-anthropic.ts'], /listening (\S+)/);
}

export interface NodeOptions {
  /** Start it as deployed: `bin/flowrouter start` (dist/ when built, its V8 flags) rather than Node on src/. */
  production?: boolean;
  env?: NodeJS.ProcessEnv;
  ipc?: boolean;
}

/** Starts a real node from YAML text in a child process on a free port; resolves with its base URL. */
export async function startNode(yaml: string, extraArgs: string[] = [], opts: NodeOptions = {}): Promise<Child & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowrouter-bench-'));
  const config = join(dataDir, 'config.yaml');
  writeFileSync(config, yaml);
  const args = ['start', '--config', config, '--port', '0', '--data-dir', dataDir, '--log-level', 'error', ...extraArgs];
  const child = await spawnUntil(opts.production ? args : ['src/cli/entry.ts', ...args], /listening on (http:\/\/\S+?)\/v1/, opts.env, {
    command: opts.production ? join(ROOT, 'bin/flowrouter') : undefined,
    ipc: opts.ipc,
  });
  return {
    ...child,
    dataDir,
    stop: async () => {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function load(url: string, body: unknown, connections: number, seconds: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    pipelining: 1,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

export interface MeshNodeProc {
  name: string;
  pid: number;
  url: string;
  multiaddr: string;
  stop(): Promise<void>;
}

/** Starts `flowrouter start` and waits for both its HTTP URL and its loopback mesh address on stdout. */
export async function startMeshNode(name: string, dataDir: string, yaml: string): Promise<MeshNodeProc> {
  const config = join(dataDir, 'config.yaml');
  writeFileSync(config, yaml);
  const proc = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'start', '--config', config, '--port', '0', '--data-dir', dataDir, '--log-level', 'error'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const found = await new Promise<{ url: string; multiaddr: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+?)\/v1/.exec(out)?.[1];
      const multiaddr = /mesh listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/.exec(out)?.[1];
      if (url && multiaddr) {
        clearTimeout(timer);
        resolve({ url, multiaddr });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}`));
    });
  });
  proc.stdout!.resume();
  return {
    name,
    pid: proc.pid!,
    ...found,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        proc.kill('SIGTERM');
      }),
  };
}
