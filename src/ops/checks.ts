// The checks `flowrouter doctor` runs: Node version, database, upstream reachability (TCP only) and mesh ports.
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NodeConfig } from '../config/index.ts';
import { providers, type ProviderAccount } from '../providers/index.ts';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Passed, but worth a look (e.g. one fallback upstream of a chain is down). */
  warn?: boolean;
  detail: string;
}

export const MIN_NODE_MAJOR = 22;

export function checkNodeVersion(version: string = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return { name: 'node', ok: major >= MIN_NODE_MAJOR, detail: `v${version} (needs ${MIN_NODE_MAJOR} or newer)` };
}

/** Opens the node's database without creating or migrating anything: quick integrity check and journal mode. */
export function checkDatabase(dataDir: string): CheckResult[] {
  const file = join(dataDir, 'flowrouter.db');
  if (!existsSync(file)) return [{ name: 'database', ok: true, detail: `${file} does not exist yet (created at first start)` }];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    const mode = db.pragma('journal_mode', { simple: true });
    return [
      { name: 'database', ok: check === 'ok', detail: `${file}: quick_check ${String(check)}` },
      { name: 'database WAL', ok: mode === 'wal', detail: `journal_mode ${String(mode)}` },
    ];
  } catch (err) {
    return [{ name: 'database', ok: false, detail: `${file}: ${(err as Error).message}` }];
  } finally {
    db?.close();
  }
}

export interface Endpoint {
  host: string;
  port: number;
  /** The accounts (and inline targets) that use it. */
  users: string[];
}

/** The host and port an account sends to: its URL, else its provider's public API; undefined when neither is set. */
export function endpointOf(a: ProviderAccount): { host: string; port: number } | undefined {
  const base = a.baseUrl || providers[a.type]?.defaultBaseUrl;
  if (!base) return undefined;
  const url = new URL(base);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
}

/** Every upstream host:port the config makes the node talk to, once each. */
export function upstreamEndpoints(config: NodeConfig): Endpoint[] {
  const accounts = new Map([...config.accounts.values()].map((a) => [a.name, a]));
  for (const chain of config.chains.values()) for (const t of chain.targets) if (t.account) accounts.set(t.account.name, t.account);
  const byAddress = new Map<string, Endpoint>();
  for (const a of accounts.values()) {
    const at = endpointOf(a);
    if (!at) continue;
    const key = `${at.host}:${at.port}`;
    const e = byAddress.get(key) ?? byAddress.set(key, { ...at, users: [] }).get(key)!;
    e.users.push(a.name);
  }
  return [...byAddress.values()];
}

/**
 * One result per chain: it passes when at least one of its targets is reachable (knowledge targets always are).
 * An unreachable upstream whose every chain still has a reachable target is downgraded to a warning.
 */
export function judgeChains(config: NodeConfig, reachability: CheckResult[], endpoints: Endpoint[]): CheckResult[] {
  const reachable = new Set(endpoints.filter((_e, i) => reachability[i].ok).map((e) => `${e.host}:${e.port}`));
  const keyOf = (a?: ProviderAccount) => {
    const e = a && endpointOf(a);
    return e ? `${e.host}:${e.port}` : undefined;
  };
  const servedBy = new Map<string, string[]>();
  const results: CheckResult[] = [];
  for (const chain of config.chains.values()) {
    const up = chain.targets.filter((t) => t.kind === 'knowledge' || reachable.has(keyOf(t.account) ?? ''));
    results.push({
      name: `chain ${chain.name}`,
      ok: up.length > 0,
      detail:
        up.length > 0 ? `${up.length} of ${chain.targets.length} target(s) reachable` : `no target reachable (${chain.targets.map((t) => t.id).join(', ')})`,
    });
    for (const t of chain.targets) {
      const k = keyOf(t.account);
      if (k) servedBy.set(k, [...(servedBy.get(k) ?? []), chain.name]);
    }
  }
  const chainOk = new Map(results.map((r) => [r.name.slice('chain '.length), r.ok]));
  endpoints.forEach((e, i) => {
    const r = reachability[i];
    const chains = servedBy.get(`${e.host}:${e.port}`) ?? [];
    if (!r.ok && chains.length > 0 && chains.every((c) => chainOk.get(c))) reachability[i] = { ...r, ok: true, warn: true };
  });
  return results;
}

/** Opens a TCP connection and closes it at once: nothing is sent, so no key ever leaves. */
export function checkReachable(e: Endpoint, timeoutMs: number): Promise<CheckResult> {
  const name = `upstream ${e.host}:${e.port}`;
  const users = `(${e.users.join(', ')})`;
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: e.host, port: e.port });
    const finish = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ name, ok, detail: `${detail} ${users}` });
    };
    socket.setTimeout(timeoutMs, () => finish(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => finish(true, `TCP connect in ${Date.now() - started} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
  });
}

/** The TCP ports the mesh listens on, from its listen multiaddrs (`/ip4/0.0.0.0/tcp/4001`); port 0 (any free one) is not checked. */
export function meshPorts(listen: readonly string[]): { host: string; port: number }[] {
  const found = new Map<string, { host: string; port: number }>();
  for (const addr of listen) {
    const m = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)/.exec(addr);
    if (m && Number(m[3]) > 0) found.set(`${m[2]}:${m[3]}`, { host: m[2], port: Number(m[3]) });
  }
  return [...found.values()];
}

/** Free when we can bind it; in use is fine only when `isOurs` says the running node holds it. */
export function checkPort(host: string, port: number, isOurs: () => Promise<boolean>): Promise<CheckResult> {
  const name = `mesh port ${port}`;
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return resolve({ name, ok: false, detail: `${host}:${port}: ${err.code ?? err.message}` });
      const ours = await isOurs().catch(() => false);
      resolve({ name, ok: ours, detail: ours ? `${host}:${port} in use by the running Flow Router node` : `${host}:${port} is in use by another process` });
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ name, ok: true, detail: `${host}:${port} free` })));
  });
}

/** True when a Flow Router node answers /health on the configured HTTP address (then the mesh ports in use are its own). */
export async function nodeIsRunning(config: NodeConfig, timeoutMs: number): Promise<boolean> {
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok && ((await res.json()) as { status?: string }).status === 'ok';
  } catch {
    return false;
  }
}
