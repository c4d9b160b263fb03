// Client keys hold across the mesh: created, rotated or revoked on one member (over the admin API or by the CLI in
// another process), they take effect on every member within 2 s, and a member that was away catches up by anti-entropy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KEYS_TOPIC } from '../../src/mesh/index.ts';
import { ADMIN_KEY, call, chat } from './setup.ts';
import { startCluster, within, type MeshCluster } from './mesh-setup.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/flowrouter');
let cluster: MeshCluster;

const admin = (url: string, path: string, method = 'GET', body?: unknown) => call(url, path, { method, key: ADMIN_KEY, body });
const ask = (node: { url: string }, key: string) => chat(node.url, key, { model: 'gpt-4o-mini' });

before(async () => {
  // Anti-entropy every 10 minutes: a delivery within 2 s can only be gossip's.
  cluster = await startCluster(3, { mesh: 'sync_interval_ms: 600000' });
  await within(15_000, 'the key topic meshed', () => cluster.nodes.every((n) => n.node.meshLink!.mesh.pubsub.getSubscribers(KEYS_TOPIC).length >= 2));
});

after(async () => {
  await cluster?.close();
});

test('a key created on A with POST /admin/keys is accepted by B and C within 2 s, with its whole policy', { timeout: 30_000 }, async () => {
  const [a, b, c] = cluster.nodes;
  const created = await admin(a.url, '/admin/keys', 'POST', {
    name: 'mesh-app',
    rpm: 100,
    tpm: 50_000,
    budget_usd: 5,
    budget_period: 'day',
    models: ['gpt-4o*'],
    expires: '30d',
  });
  assert.equal(created.status, 201, created.text);
  const { key, id } = created.json;
  for (const node of [b, c]) {
    const ms = await within(2_000, `the key on ${node.url}`, async () => (await ask(node, key)).status === 200);
    assert.ok(ms < 2_000);
  }
  const onA = a.node.tenancy.keys.get(id);
  assert.deepEqual(b.node.tenancy.keys.get(id), onA);
  assert.deepEqual(c.node.tenancy.keys.get(id), onA);
  assert.equal(onA?.origin, a.node.nodeId);
  // Only the salted hash travelled: the secret is nowhere in B's key log.
  const ops = b.node.db.prepare('SELECT payload FROM tenancy_ops').all() as { payload: string }[];
  assert.ok(ops.length > 0);
  assert.equal(
    ops.some((o) => o.payload.includes(key.slice(19))),
    false,
  );
  // The policy holds on B: a model outside the grant is refused there too.
  assert.equal((await chat(b.url, key, { model: 'claude-3' })).status, 403);
});

test("a key created by `flowrouter keys create` in another process on A's database works on B and C within 2 s", { timeout: 60_000 }, async () => {
  const [a, b, c] = cluster.nodes;
  const { stdout } = await run(
    BIN,
    ['keys', 'create', '--name', 'cli-made', '--rpm', '30', '--config', join(a.dataDir, 'config.yaml'), '--data-dir', a.dataDir],
    { timeout: 30_000 },
  );
  const key = /fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}/.exec(stdout)![0];
  for (const node of [b, c]) await within(2_000, `the CLI's key on ${node.url}`, async () => (await ask(node, key)).status === 200);
  assert.equal((await ask(a, key)).status, 200);
});

test('a revocation on A is refused by B and C within 2 s; a rotation there replaces the secret everywhere', { timeout: 60_000 }, async () => {
  const [a, b, c] = cluster.nodes;
  const { json: first } = await admin(a.url, '/admin/keys', 'POST', { name: 'rotating' });
  await within(2_000, 'the key on C', async () => (await ask(c, first.key)).status === 200);
  const { json: rotated } = await admin(a.url, `/admin/keys/${first.id}/rotate`, 'POST');
  await within(2_000, 'the old secret refused on C', async () => (await ask(c, first.key)).status === 401);
  assert.equal((await ask(c, rotated.key)).status, 200);

  // Revoked with the CLI in another process: the node notices the write and gossips it.
  await run(BIN, ['keys', 'revoke', 'rotating', '--config', join(a.dataDir, 'config.yaml'), '--data-dir', a.dataDir], { timeout: 30_000 });
  for (const node of [b, c]) {
    await within(2_000, `the revocation on ${node.url}`, async () => {
      const r = await ask(node, rotated.key);
      return r.status === 401 && r.json?.error?.code === 'revoked_api_key';
    });
  }
});

test('a member that was away receives the keys and revocations made meanwhile by anti-entropy when it joins', { timeout: 60_000 }, async () => {
  const [a, b] = cluster.nodes;
  const { json: kept } = await admin(b.url, '/admin/keys', 'POST', { name: 'made-before-d' });
  const { json: gone } = await admin(a.url, '/admin/keys', 'POST', { name: 'revoked-before-d' });
  await admin(a.url, `/admin/keys/${gone.id}`, 'DELETE');
  const d = await cluster.add();
  await within(10_000, 'D to hold both', () => d.node.tenancy.keys.get(kept.id) !== undefined && d.node.tenancy.keys.get(gone.id)?.revokedAt !== undefined);
  assert.equal((await ask(d, kept.key)).status, 200);
  assert.equal((await ask(d, gone.key)).status, 401);
  assert.deepEqual(d.node.meshTenancy!.keyReplicator!.status().versions, a.node.meshTenancy!.keyReplicator!.status().versions);
});

test("mesh status shows the key log: versions per origin and each peer's lag", { timeout: 30_000 }, async () => {
  const [a] = cluster.nodes;
  const { json } = await admin(a.url, '/v1/mesh/status');
  assert.ok(json.keys.versions[a.node.nodeId!] >= 1, JSON.stringify(json.keys));
  assert.ok(json.keys.peers.length >= 2);
});
