// The mesh's operator surface: HTTP routes on a real node, `flowrouter peers`, `mesh status` and `mesh init`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir, type networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { bootstrapAddresses, meshCommand, peersCommand } from '../../src/cli/mesh.ts';
import { meshRoutes } from '../../src/mesh/index.ts';
import { addrOf, capacity, testMesh, waitFor } from './helpers.ts';

test('GET /v1/mesh/peers and /v1/mesh/status show what the node sees, and `peers`/`mesh status` print them', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  const app = Fastify();
  try {
    const a = await mesh.add({ nodeName: 'alpha' }, { capacity: () => capacity(['llama-3-8b'], { freeConcurrency: 2, errorRate: 0.25 }) });
    const b = await mesh.add({ nodeName: 'beta', bootstrap: [addrOf(a)] });
    await waitFor('B to see A', () => b.peers().find((p) => p.peerId === a.peerId && p.capacity));
    await app.register(meshRoutes, { mesh: b });
    const fetchJson = async (path: string): Promise<unknown> => {
      const res = await app.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, 200);
      return res.json();
    };

    const peers = (await fetchJson('/v1/mesh/peers')) as { data: { peerId: string; capacity: { models: string[] } }[] };
    assert.equal(peers.data[0].peerId, a.peerId);
    assert.deepEqual(peers.data[0].capacity.models, ['llama-3-8b']);
    const status = (await fetchJson('/v1/mesh/status')) as { peerId: string; peers: { connected: number } };
    assert.equal(status.peerId, b.peerId);
    assert.equal(status.peers.connected, 1);

    let printed = '';
    await peersCommand(fetchJson, (t) => {
      printed += t;
    }).parseAsync([], { from: 'user' });
    const [header, row] = printed.trim().split('\n');
    assert.match(header, /^PEER\s+ADDRESS\s+MODELS\s+LOAD\s+HEALTH\s+LAST SEEN$/);
    assert.match(row, /^alpha \(…\w{8}\)\s+\/ip4\/127\.0\.0\.1\/tcp\/\d+\S*\s+llama-3-8b\s+2 free, 25% err, p50 100ms\s+healthy\s+\d+s ago$/);

    let statusText = '';
    await meshCommand({
      resolvePaths: () => ({ dataDir: '/nonexistent' }),
      fetchJson,
      out: (t) => {
        statusText += t;
      },
    }).parseAsync(['status'], { from: 'user' });
    assert.match(statusText, new RegExp(`peer id:\\s+${b.peerId} \\(beta\\)`));
    assert.match(statusText, /1 known, 1 connected, 1 healthy/);
    assert.match(statusText, /OPEN \(no mesh secret\)/);
  } finally {
    await app.close();
    await mesh.close();
  }
});

test('bootstrap addresses expand a wildcard listen address to the LAN addresses and keep a specific one', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.168.1.10', family: 'IPv4', internal: false },
      { address: '169.254.3.3', family: 'IPv4', internal: false },
    ],
  } as unknown as ReturnType<typeof networkInterfaces>;
  assert.deepEqual(bootstrapAddresses(['/ip4/0.0.0.0/tcp/2403'], 'ID', interfaces), ['/ip4/192.168.1.10/tcp/2403/p2p/ID']);
  assert.deepEqual(bootstrapAddresses(['/ip4/10.77.0.2/tcp/2404'], 'ID', interfaces), ['/ip4/10.77.0.2/tcp/2404/p2p/ID']);
  assert.deepEqual(bootstrapAddresses(['/ip4/0.0.0.0/tcp/2403'], 'ID', {}), ['/ip4/<this host>/tcp/2403/p2p/ID']);
});

test('`mesh init` writes a private secret file and says how to share it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-init-'));
  try {
    let printed = '';
    const out = join(dir, 'secrets', 'mesh.key');
    await meshCommand({
      resolvePaths: () => ({ dataDir: dir, listen: ['/ip4/0.0.0.0/tcp/2417'] }),
      fetchJson: async () => ({}),
      out: (t) => {
        printed += t;
      },
    }).parseAsync(['init', '--out', out], { from: 'user' });
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    assert.match(await readFile(out, 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    assert.match(printed, new RegExp(`mesh secret written to ${out}`));
    assert.match(printed, /peer id: 12D3KooW\w+/);
    assert.match(printed, /copy .* to it over a private channel/);
    // The real mesh port, on this host's addresses (or a placeholder host on a machine without a LAN address).
    const peerId = /peer id: (12D3KooW\w+)/.exec(printed)![1];
    assert.match(printed, new RegExp(`\\/ip4\\/[^/]+\\/tcp\\/2417\\/p2p\\/${peerId}`));
    assert.doesNotMatch(printed, /<mesh port>/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
