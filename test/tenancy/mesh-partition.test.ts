// A member cut off from the mesh keeps admitting a key's requests within its own share, says so in `mesh status`, and
// after healing counts the same totals as the others. Whole nodes over real libp2p; the partition is a pair of TCP
// relays: the cut-off member listens nowhere and reaches the others only through them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { formatStatus } from '../../src/cli/mesh.ts';
import { ADMIN_KEY, call, chat, type TenancyNode } from './setup.ts';
import { meshAddr, startCluster, tcpRelay, within, type MeshCluster } from './mesh-setup.ts';

let cluster: MeshCluster;
let relays: Awaited<ReturnType<typeof tcpRelay>>[] = [];
let c: TenancyNode;

const status = (n: TenancyNode) => n.node.tenancy.shared!.status();
const contacts = (n: TenancyNode) =>
  status(n)
    .members.filter((m) => m.inContact)
    .map((m) => m.peer)
    .sort();

before(async () => {
  cluster = await startCluster(2, { mesh: 'shared_limits: { heartbeat_ms: 250, contact_timeout_ms: 1000 }' });
  relays = await Promise.all(cluster.nodes.map((n) => tcpRelay(meshAddr(n))));
  c = await cluster.add({ bootstrap: relays.map((r) => r.addr), listen: '[]' });
  await within(20_000, 'all three in contact', () => cluster.nodes.every((n) => contacts(n).length === 2));
});

after(async () => {
  await Promise.all(relays.map((r) => r.close()));
  await cluster?.close();
});

test('a member cut off admits only its share, says so in mesh status, and after healing counts the same totals as the others', {
  timeout: 90_000,
}, async () => {
  const [a, b] = cluster.nodes;
  const { key, id } = (await call(a.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'rpm-partition', rpm: 12 } })).json as { id: string; key: string };
  await within(5_000, 'the key on C', () => c.node.tenancy.keys.get(id) !== undefined);

  // What C knows of A's and B's addresses becomes the relays' only (identify taught it their real ones), before the cut:
  // libp2p redials a dropped peer at once, and must find no way around the relays.
  const host = c.node.meshLink!.mesh.libp2p;
  for (const [n, r] of [
    [a, relays[0]],
    [b, relays[1]],
  ] as const) {
    await host.peerStore.patch(peerIdFromString(n.node.nodeId!), { multiaddrs: [multiaddr(r.addr)] });
  }
  for (const r of relays) r.cut();
  await within(5_000, 'C cut off from A and B', () => host.getPeers().length === 0);
  await within(5_000, 'the partition noticed on both sides', () => contacts(c).length === 0 && [a, b].every((n) => !contacts(n).includes(c.node.nodeId!)));
  const text = formatStatus((await call(c.url, '/v1/mesh/status', { key: ADMIN_KEY })).json);
  assert.match(text, /limits: {4}PARTITIONED: out of contact with 2 of 2 members; admitting within shares \(1\/3 of every limit/);
  assert.match(text, new RegExp(`${a.node.nodeId}: silent`));

  // Three members: C's share of 12 is 4, however much it is asked.
  const onC = await Promise.all(Array.from({ length: 12 }, () => chat(c.url, key, { model: 'gpt-4o-mini' })));
  assert.equal(onC.filter((r) => r.status === 200).length, 4);
  assert.match(onC.find((r) => r.status === 429)!.json.error.message, /the shares of 2 members out of contact reserved/);
  // A and B keep C's share for it: 8 between them, plus at most one unconfirmed.
  const elsewhere = await Promise.all([a, b].flatMap((n) => Array.from({ length: 8 }, () => chat(n.url, key, { model: 'gpt-4o-mini' }))));
  const okElsewhere = elsewhere.filter((r) => r.status === 200).length;
  assert.ok(okElsewhere >= 8 && okElsewhere <= 9, `admitted ${okElsewhere} on A and B`);

  for (const r of relays) r.heal();
  await within(30_000, 'C back in contact with both', () => cluster.nodes.every((n) => contacts(n).length === 2));
  const total = 4 + okElsewhere;
  await within(3_000, 'every member counts the same minute', () =>
    cluster.nodes.every((n) => Math.round(n.node.tenancy.shared!.rate(id, { rpm: 12 }).requests) === total),
  );
  const again = await Promise.all(cluster.nodes.map((n) => chat(n.url, key, { model: 'gpt-4o-mini' })));
  assert.equal(again.filter((r) => r.status === 200).length, Math.max(0, 12 - total));
  assert.match(
    formatStatus((await call(c.url, '/v1/mesh/status', { key: ADMIN_KEY })).json),
    /limits: {4}counted mesh-wide with all 2 other members in contact/,
  );
});
