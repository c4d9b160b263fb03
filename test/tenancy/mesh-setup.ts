// Mesh-tenancy fixtures: whole nodes (auth required, an admin key) joined in a loopback mesh behind one secret, each
// with its own fake upstream account, and waits bounded in time.
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';
import { ADMIN_KEY, startNode, type TenancyNode } from './setup.ts';

export interface MeshCluster {
  nodes: TenancyNode[];
  fake: FakeOpenAI;
  secretFile: string;
  /** The YAML node `i` was started with (written to `<dataDir>/config.yaml` too, for the CLI). */
  yaml(i: number): string;
  /** Starts one more member that bootstraps from the given nodes (all of them by default). */
  add(opts?: { bootstrap?: string[]; mesh?: string; extra?: string; listen?: string; upstream?: string }): Promise<TenancyNode>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Lines added under `mesh:` (indented two spaces). */
  mesh?: string;
  /** Top-level YAML added to every node's config. */
  extra?: string;
}

export const meshAddr = (n: TenancyNode): string => n.node.meshLink!.mesh.status().multiaddrs.find((a) => a.includes('/127.0.0.1/'))!;

/** Polls `check` every 20 ms until it holds or `ms` passes; resolves with the time it took. */
export async function within(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startCluster(count: number, opts: ClusterOptions = {}): Promise<MeshCluster> {
  const secrets = tempDir('flowrouter-mesh-tenancy-');
  const secretFile = join(secrets.path, 'mesh.key');
  await writeMeshSecret(secretFile);
  const fake = await startFakeOpenAI();
  const yamls: string[] = [];
  const nodes: TenancyNode[] = [];
  const yamlFor = (bootstrap: string[], mesh = opts.mesh ?? '', extra = opts.extra ?? '', listen = '[/ip4/127.0.0.1/tcp/0]', upstream = fake.url) => `auth:
  mode: required
  admin_key: \${ADMIN_KEY}
mesh:
  listen: ${listen}
  mdns: false
  secret_file: ${secretFile}
  bootstrap: [${bootstrap.join(', ')}]
${mesh
  .split('\n')
  .filter(Boolean)
  .map((l) => `  ${l}`)
  .join('\n')}
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-upstream-0000000000000000
      url: ${upstream}
${extra}
`;
  const cluster: MeshCluster = {
    nodes,
    fake,
    secretFile,
    yaml: (i) => yamls[i],
    async add(o = {}) {
      const yaml = yamlFor(o.bootstrap ?? nodes.map(meshAddr), o.mesh, o.extra, o.listen, o.upstream);
      const node = await startNode(yaml);
      writeFileSync(join(node.dataDir, 'config.yaml'), yaml.replace('${ADMIN_KEY}', ADMIN_KEY));
      yamls.push(yaml);
      nodes.push(node);
      return node;
    },
    async close() {
      await Promise.all(nodes.map((n) => n.stop()));
      await fake.close();
      secrets.remove();
    },
  };
  try {
    for (let i = 0; i < count; i++) await cluster.add();
    await within(15_000, 'every node connected to every other', () => nodes.every((n) => n.node.meshLink!.mesh.libp2p.getPeers().length >= count - 1));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/**
 * A TCP relay in front of one node's mesh port, so a member that reaches the mesh only through relays (and listens
 * nowhere itself) can be cut off and reconnected while every process keeps running: a partition on loopback.
 */
export async function tcpRelay(to: string): Promise<{ addr: string; cut(): void; heal(): void; close(): Promise<void> }> {
  const m = /\/ip4\/([^/]+)\/tcp\/(\d+)\/p2p\/(.+)$/.exec(to)!;
  const sockets = new Set<Socket>();
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(m[2]), m[1]);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${m[3]}`,
    cut() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      blocked = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
