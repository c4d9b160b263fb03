// `flowrouter mesh init|status` and `flowrouter peers`: create the mesh secret and look at a running node's mesh.
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { nodeIdentity } from '../node/identity.ts';
import type { MeshStatus, PeerRow, ReplicationStatus } from '../mesh/index.ts';

export interface MeshCommandDeps {
  /** The data directory, the configured secret file and the mesh listen addresses, from the subcommand's flags. */
  resolvePaths(flags: Record<string, unknown>): { dataDir: string; secretFile?: string; listen?: string[] };
  /** GET on the running node's HTTP API, parsed JSON. */
  fetchJson(path: string): Promise<unknown>;
  /** Adds the shared flags (--config, --data-dir…) to each subcommand. */
  withFlags?: (cmd: Command) => Command;
  out?: (text: string) => void;
}

const stdout = (text: string): void => {
  process.stdout.write(text);
};

export function meshCommand(deps: MeshCommandDeps): Command {
  const out = deps.out ?? stdout;
  const flags = deps.withFlags ?? ((c: Command) => c);
  const mesh = new Command('mesh').description('the libp2p mesh: membership secret and status');

  flags(mesh.command('init').description('create the mesh secret that every member node must hold'))
    .option('-o, --out <file>', 'where to write the secret (default: the configured mesh secret file, else <data-dir>/mesh.key)')
    .action(async (opts: Record<string, unknown>) => {
      const paths = deps.resolvePaths(opts);
      const file = typeof opts.out === 'string' ? opts.out : (paths.secretFile ?? join(paths.dataDir, 'mesh.key'));
      // Loaded here, not at the top: every `flowrouter start` parses this command line too.
      const { writeMeshSecret } = await import('../mesh/identity.ts');
      await writeMeshSecret(file);
      const { peerId } = await nodeIdentity(paths.dataDir);
      const addresses = bootstrapAddresses(paths.listen ?? [], peerId);
      out(
        [
          `mesh secret written to ${file} (mode 0600)`,
          `this node's peer id: ${peerId}`,
          '',
          'To add a node to the mesh:',
          `  1. copy ${file} to it over a private channel (e.g. scp), keeping mode 0600;`,
          '  2. point its config at the file (mesh.secret_file) and restart it;',
          `  3. give it this node's address as a bootstrap peer (--bootstrap or mesh.bootstrap)${addresses.length > 1 ? ', one of' : ''}:`,
          ...addresses.map((a) => `       ${a}`),
          'Anyone holding this file can join the mesh; to exclude one member, set an allowlist of peer ids.',
          '',
        ].join('\n'),
      );
    });

  flags(mesh.command('status').description("show the running node's mesh identity, addresses and counters")).action(async () => {
    out(formatStatus((await deps.fetchJson('/v1/mesh/status')) as MeshStatus));
  });
  return mesh;
}

/**
 * The multiaddrs other nodes can dial this one at: each TCP listen address, a wildcard one expanded to this host's
 * LAN addresses (IPv4, not loopback or link-local); a placeholder host when there is none.
 */
export function bootstrapAddresses(listen: readonly string[], peerId: string, interfaces = networkInterfaces()): string[] {
  const lan = Object.values(interfaces)
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal && !i.address.startsWith('169.254.'))
    .map((i) => i!.address);
  const out = new Set<string>();
  for (const address of listen) {
    const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(address);
    if (!m) continue;
    const hosts = m[1] !== '0.0.0.0' ? [m[1]] : lan.length ? lan : ['<this host>'];
    for (const host of hosts) out.add(`/ip4/${host}/tcp/${m[2]}/p2p/${peerId}`);
  }
  return out.size ? [...out] : [`/ip4/<this host>/tcp/<mesh port>/p2p/${peerId}`];
}

export function peersCommand(fetchJson: (path: string) => Promise<unknown>, write: (text: string) => void = stdout): Command {
  return new Command('peers').description('list the mesh peers a running node sees').action(async () => {
    const body = (await fetchJson('/v1/mesh/peers')) as { data: PeerRow[] };
    write(formatPeersTable(body.data));
  });
}

/** Per-origin versions and each peer's replication lag. */
function formatReplication(r: ReplicationStatus | null | undefined): string[] {
  if (!r) return ['replication: off'];
  const origins = Object.entries(r.versions).map(([origin, seq]) => `  ${origin === r.origin ? `${origin} (this node)` : origin}: ${seq}`);
  const peers = r.peers.map((p) => {
    const lag = `  ${p.peerId}: ${p.opsBehind} ops behind it, it is ${p.peerOpsBehind} behind us, last sync ${p.secondsSinceSync === null ? 'never' : `${Math.round(p.secondsSinceSync)}s ago`}`;
    if (!p.failures) return lag;
    const retry = p.retryInSeconds === null ? 'retrying now' : `next try in ${p.retryInSeconds}s`;
    return `${lag}\n  ${p.peerId}: sync failing (${p.failures} in a row): ${p.lastError}; ${retry}`;
  });
  const c = r.counts;
  return [
    `replication: ${c.opsApplied} applied, ${c.opsSent} sent, ${c.opsRejected} rejected, ${c.syncs} syncs (${c.syncFailures} failed)${r.cacheReplication ? ', cache replicated' : ''}`,
    'versions (origin: last sequence):',
    ...(origins.length ? origins : ['  (none yet)']),
    'peer lag:',
    ...(peers.length ? peers : ['  (no peers yet)']),
  ];
}

/** The shared limits as `mesh status` reports them (tenancy/shared's status). */
interface LimitsStatus {
  overshoot: number;
  shareOf: number;
  mode: 'alone' | 'mesh-wide' | 'partitioned';
  members: { peer: string; inContact: boolean; state: string; lastHeardS: number | null }[];
}

/** Whom the node counts client keys' limits with, and what it does about members it cannot hear. */
function formatLimits(l: LimitsStatus | null | undefined): string[] {
  if (!l) return ["limits:    this node's own (mesh.shared_limits off)"];
  const share = `1/${Math.round(1 / l.shareOf)}`;
  if (l.mode === 'alone') return ['limits:    counted mesh-wide; no other member heard yet (this node may use each whole limit)'];
  const out = l.members.filter((m) => !m.inContact);
  const head =
    l.mode === 'mesh-wide'
      ? `limits:    counted mesh-wide with all ${l.members.length} other member${l.members.length > 1 ? 's' : ''} in contact (a key may pass a limit by ${Math.round(l.overshoot * 100)} % of it, or one request per other member)`
      : `limits:    PARTITIONED: out of contact with ${out.length} of ${l.members.length} member${l.members.length > 1 ? 's' : ''}; admitting within shares (${share} of every limit kept for each member out of contact)`;
  return [head, ...out.map((m) => `  ${m.peer}: ${m.state}${m.lastHeardS === null ? '' : `, last heard ${Math.round(m.lastHeardS)}s ago`}`)];
}

/** The client-key log: how many key ops from how many origins, and peers still behind. */
function formatKeys(k: ReplicationStatus | null | undefined): string[] {
  if (!k) return ['keys:      not replicated (mesh.replicate_keys off)'];
  const ops = Object.values(k.versions).reduce((a, b) => a + b, 0);
  const behind = k.peers.filter((p) => p.opsBehind > 0 || p.peerOpsBehind > 0 || p.failures > 0);
  return [
    `keys:      replicated: ${ops} key ops from ${Object.keys(k.versions).length} origin${Object.keys(k.versions).length === 1 ? '' : 's'}, ${k.counts.opsRejected} rejected`,
    ...behind.map(
      (p) =>
        `  ${p.peerId}: ${p.failures ? `sync failing (${p.failures} in a row): ${p.lastError}` : `${p.opsBehind} ops behind it, it is ${p.peerOpsBehind} behind us`}`,
    ),
  ];
}

export function formatStatus(
  s: MeshStatus & { replication?: ReplicationStatus | null; keys?: ReplicationStatus | null; limits?: LimitsStatus | null },
): string {
  return [
    `peer id:   ${s.peerId}${s.nodeName ? ` (${s.nodeName})` : ''}`,
    `listening: ${s.multiaddrs.join('\n           ') || '(none)'}`,
    `peers:     ${s.peers.known} known, ${s.peers.connected} connected, ${s.peers.healthy} healthy`,
    `forwards:  ${s.forwards.in} in (${s.forwards.inFailed} failed), ${s.forwards.out} out (${s.forwards.outFailed} failed)`,
    `members:   ${s.privateNetwork ? 'secret required' : 'OPEN (no mesh secret)'}${s.allowlist === null ? '' : `, allowlist of ${s.allowlist}`}`,
    ...formatReplication(s.replication),
    ...formatKeys(s.keys),
    ...formatLimits(s.limits),
    '',
  ].join('\n');
}

function ago(ts: number | null, now: number): string {
  if (ts === null) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function load(row: PeerRow): string {
  if (!row.capacity) return '-';
  const c = row.capacity;
  return `${c.freeConcurrency} free, ${Math.round(c.errorRate * 100)}% err${c.latencyP50Ms === null ? '' : `, p50 ${Math.round(c.latencyP50Ms)}ms`}`;
}

/** A plain aligned text table: peer, address, models, load, health, last seen. */
export function formatPeersTable(rows: PeerRow[], now = Date.now()): string {
  if (rows.length === 0) return 'no mesh peers\n';
  const header = ['PEER', 'ADDRESS', 'MODELS', 'LOAD', 'HEALTH', 'LAST SEEN'];
  const lines = rows.map((r) => [
    r.nodeName ? `${r.nodeName} (…${r.peerId.slice(-8)})` : r.peerId,
    r.addresses[0] ?? '-',
    r.capacity?.models.join(',') || '-',
    load(r),
    r.connected ? r.health : `${r.health}, disconnected`,
    ago(r.lastSeen, now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...lines.map(fmt), ''].join('\n');
}
