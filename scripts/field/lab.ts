// The field test's network: one namespace per host on a bridge in a switch namespace, private addresses inside the
// namespaces only (the host's own network is never touched), partitions as blackhole routes, and a cleanup that also
// removes what a crashed run left behind.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Namespace names: `frt<owner pid>-<host>`, so leftovers of a dead run are recognised by their dead owner. */
const PREFIX = 'frt';

export async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args, { timeout: 10_000 })).stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills what still runs in a namespace (only processes inside it) and deletes it. */
async function removeNamespace(name: string): Promise<void> {
  const pids = (await ip('netns', 'pids', name).catch(() => '')).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await ip('netns', 'del', name).catch(() => undefined);
}

/** Namespaces and work directories of earlier runs whose process is gone (a crash, a kill -9): removed first. */
export async function removeLeftovers(): Promise<string[]> {
  const names = (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => new RegExp(`^${PREFIX}\\d+-`).test(n));
  const dead = names.filter((n) => !alive(Number(/^frt(\d+)-/.exec(n)![1])));
  for (const n of dead) await removeNamespace(n);
  for (const dir of readdirSync(tmpdir())) {
    const owner = /^flowrouter-field-(\d+)-/.exec(dir);
    if (owner && !alive(Number(owner[1]))) rmSync(join(tmpdir(), dir), { recursive: true, force: true });
  }
  return dead;
}

/** A work directory for this run, named after its process so a later run can tell it is left over. */
export function workDirectory(): string {
  return mkdtempSync(join(tmpdir(), `flowrouter-field-${process.pid}-`));
}

/** Whether this process can build the lab: root, allowed to create network and UTS namespaces. */
export async function labAvailable(): Promise<{ ok: boolean; reason?: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the field test needs root (network namespaces)' };
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    // Creating one is the only real test: a container may list namespaces but not be allowed to make them.
    await ip('netns', 'add', probe);
    await ip('netns', 'del', probe);
    await run('unshare', ['--uts', 'true'], { timeout: 5_000 });
  } catch (err) {
    await ip('netns', 'del', probe).catch(() => undefined);
    return { ok: false, reason: `ip netns or unshare is not usable here: ${(err as Error).message.split('\n')[0]}` };
  }
  return { ok: true };
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Host {
  name: string;
  /** The namespace. */
  ns: string;
  address: string;
}

export class Lab {
  readonly hosts = new Map<string, Host>();
  readonly #switch: string;
  readonly #subnet: string;
  #blackholes: { host: Host; address: string }[] = [];
  #children = new Set<ChildProcess>();

  constructor() {
    this.#switch = `${PREFIX}${process.pid}-sw`;
    // 10.200-249.x.0/24: private, random per run so two labs never share addresses, and only inside the namespaces.
    this.#subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
  }

  async build(): Promise<void> {
    await ip('netns', 'add', this.#switch);
    await ip('-n', this.#switch, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', this.#switch, 'link', 'set', 'br0', 'up');
  }

  /**
   * A host on the bridge. Multicast is off on its link, so mDNS finds nobody: joining the mesh has to work through the
   * bootstrap address, as on a Wi-Fi with client isolation.
   */
  async addHost(name: string): Promise<Host> {
    const host: Host = { name, ns: `${PREFIX}${process.pid}-${name}`, address: `${this.#subnet}.${this.hosts.size + 2}` };
    await ip('netns', 'add', host.ns);
    await ip('link', 'add', `v${this.hosts.size}`, 'netns', this.#switch, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
    await ip('-n', this.#switch, 'link', 'set', `v${this.hosts.size}`, 'master', 'br0', 'up');
    await ip('-n', host.ns, 'link', 'set', 'lo', 'up');
    await ip('-n', host.ns, 'link', 'set', 'eth0', 'multicast', 'off', 'up');
    await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    this.hosts.set(name, host);
    return host;
  }

  /** Runs a command inside a host (its own network and host name) and waits for it. */
  async exec(host: Host, argv: string[], opts: SpawnOptions = {}, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = this.spawn(host, argv, opts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
    clearTimeout(timer);
    return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  /** Starts a command inside a host, with the host's name as its host name (a UTS namespace of its own). */
  spawn(host: Host, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const script = 'hostname "$FIELD_HOSTNAME" && exec "$@"';
    const child = spawn('ip', ['netns', 'exec', host.ns, 'unshare', '--uts', 'sh', '-c', script, 'field', ...argv], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, FIELD_HOSTNAME: host.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Cuts every path between the two groups (each side still reaches its own members). */
  async partition(sideA: readonly Host[], sideB: readonly Host[]): Promise<void> {
    for (const [from, to] of [
      [sideA, sideB],
      [sideB, sideA],
    ] as const) {
      for (const host of from) {
        for (const other of to) {
          await ip('-n', host.ns, 'route', 'add', 'blackhole', `${other.address}/32`);
          this.#blackholes.push({ host, address: other.address });
        }
      }
    }
  }

  async heal(): Promise<void> {
    for (const { host, address } of this.#blackholes) await ip('-n', host.ns, 'route', 'del', 'blackhole', `${address}/32`);
    this.#blackholes = [];
  }

  /** Takes a host off the network altogether (its link down) or puts it back. */
  async setLink(host: Host, up: boolean): Promise<void> {
    await ip('-n', host.ns, 'link', 'set', 'eth0', up ? 'up' : 'down');
  }

  /** Kills everything still running in the lab and deletes its namespaces; safe to call twice. */
  async destroy(): Promise<void> {
    for (const child of this.#children) child.kill('SIGKILL');
    for (const host of this.hosts.values()) await removeNamespace(host.ns);
    this.hosts.clear();
    await removeNamespace(this.#switch);
  }
}
