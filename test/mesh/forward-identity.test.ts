// Forwards carry the client they are made for, signed by the forwarding node: the serving node checks the signature and
// the key, applies the key's permissions and mesh-wide limits, and records usage against the key and the forwarding
// peer. Forged identities are refused; a forward naming a key this node does not hold is the peer's own. Real nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection, PrivateKey } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { FORWARD_PROTOCOL, readMeshSecret, signForwardIdentity } from '../../src/mesh/index.ts';
import { createHost, type MeshHost } from '../../src/mesh/host.ts';
import { ADMIN_KEY, call, chat, type TenancyNode } from '../tenancy/setup.ts';
import { startCluster, within, type MeshCluster } from '../tenancy/mesh-setup.ts';

let cluster: MeshCluster;
let a: TenancyNode;
let b: TenancyNode;
const members: MeshHost[] = [];
const UPSTREAM = 'Bearer sk-upstream-0000000000000000';

const upstreamCalls = () => cluster.fake.requests.filter((r) => r.headers.authorization === UPSTREAM).length;
const valid = (content = 'hello') => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

before(async () => {
  // A's own target is dead, so everything A is asked goes to B over the mesh. B limits each peer's own forwards.
  cluster = await startCluster(0);
  b = await cluster.add({ mesh: 'forward_limits: { rpm: 2 }' });
  a = await cluster.add({ upstream: 'http://127.0.0.1:9/v1' });
  await within(15_000, "B's model at A", () =>
    a.node.meshLink!.mesh.peers().some((p) => p.peerId === b.node.nodeId && p.capacity?.models.includes('gpt-4o-mini')),
  );
  await within(10_000, 'A and B in contact for the limits', () => [a, b].every((n) => n.node.tenancy.shared!.status().mode === 'mesh-wide'));
});

after(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await cluster?.close();
});

/** A bare member holding the secret, speaking the forward protocol by hand with its own peer key. */
async function member(): Promise<{ peerId: string; key: PrivateKey; conn: Connection }> {
  const key = await generateKeyPair('Ed25519');
  const host = await createHost({
    privateKey: key,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    mdns: false,
    psk: await readMeshSecret(cluster.secretFile),
    allowlist: null,
  });
  await host.start();
  members.push(host);
  const addr = b.node.meshLink!.mesh.status().multiaddrs[0];
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return { peerId: host.peerId.toString(), key, conn: await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) }) };
    } catch (err) {
      // libp2p refuses more than 5 inbound connections a second from one host, and every test peer is 127.0.0.1.
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

type Frame = { type: string; error?: { status: number; code: string | null; message: string } };

async function forward(conn: Connection, request: unknown, identity?: unknown): Promise<Frame> {
  const stream = await conn.newStream(FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
  const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 });
  await lp.write(new TextEncoder().encode(JSON.stringify({ request, deadline: Date.now() + 10_000, hop: 1, requestId: 'r', identity })));
  for (;;) {
    const frame = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())) as Frame;
    if (frame.type === 'keepalive') continue;
    await stream.close().catch(() => undefined);
    return frame;
  }
}

const rows = (where: string, ...args: unknown[]) => {
  b.node.usage.flush();
  return b.node.db.prepare(`SELECT client_id AS client, via_peer AS via FROM usage_ledger WHERE ${where}`).all(...args) as {
    client: string;
    via: string | null;
  }[];
};

test("a key's request forwarded by A is served by B under that key: counted once mesh-wide, recorded on B against the key and A", {
  timeout: 60_000,
}, async () => {
  const { json: created } = await call(a.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'forwarded', rpm: 3 } });
  await within(5_000, 'the key on B', () => b.node.tenancy.keys.get(created.id) !== undefined);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++)
    statuses.push((await chat(a.url, created.key, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `fwd ${i}` }] })).status);
  // Counted once: where it entered the mesh. Counted again on B, the second would already have been refused.
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.deepEqual(
    rows('client_id = ?', created.id),
    Array.from({ length: 3 }, () => ({ client: created.id, via: a.node.nodeId })),
  );
  // Under the key's limits, not A's forward limit on B (rpm 2): that one is for forwards naming no key B holds.
});

test("a member forwarding in a key's name without counting it: the serving node counts those requests itself", { timeout: 60_000 }, async () => {
  // M speaks the forward protocol but gossips no counts: B cannot see it counted anything, so B counts.
  const { record } = b.node.tenancy.keys.create('uncounted', { rpm: 2 });
  const m = await member();
  const before = upstreamCalls();
  const codes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const request = valid(`uncounted ${i}`);
    const frame = await forward(
      m.conn,
      request,
      await signForwardIdentity(m.key, { keyId: record.id }, { from: m.peerId, to: b.node.nodeId! }, request, Date.now() + 10_000),
    );
    codes.push(frame.type === 'error' ? frame.error!.code! : frame.type);
  }
  assert.deepEqual(codes, ['json', 'json', 'rate_limit_exceeded', 'rate_limit_exceeded']);
  assert.equal(upstreamCalls() - before, 2);
  assert.deepEqual(rows('client_id = ?', record.id), [
    { client: record.id, via: m.peerId },
    { client: record.id, via: m.peerId },
  ]);
});

test('a forged identity on a forward is refused with 401 mesh_identity_invalid and nothing goes upstream', { timeout: 60_000 }, async () => {
  const { record } = b.node.tenancy.keys.create('victim');
  const m = await member();
  const other = await generateKeyPair('Ed25519');
  const request = valid('forged');
  const exp = Date.now() + 10_000;
  const ids = { from: m.peerId, to: b.node.nodeId! };
  const cases: [string, unknown][] = [
    ['claims another node sent it', await signForwardIdentity(m.key, { keyId: record.id }, { ...ids, from: a.node.nodeId! }, request, exp)],
    ['signed with another key', await signForwardIdentity(other, { keyId: record.id }, ids, request, exp)],
    ['addressed to another node', await signForwardIdentity(m.key, { keyId: record.id }, { ...ids, to: a.node.nodeId! }, request, exp)],
    ['signed for another request', await signForwardIdentity(m.key, { keyId: record.id }, ids, valid('something else'), exp)],
    ['long expired', await signForwardIdentity(m.key, { keyId: record.id }, ids, request, Date.now() - 3_600_000, Date.now() - 3_700_000)],
    ['malformed', { claims: '{"v":1', sig: 'x' }],
  ];
  const before = upstreamCalls();
  for (const [what, identity] of cases) {
    const frame = await forward(m.conn, request, identity);
    assert.equal(frame.type, 'error', what);
    assert.equal(frame.error!.status, 401, what);
    assert.equal(frame.error!.code, 'mesh_identity_invalid', what);
  }
  assert.equal(upstreamCalls(), before);
  assert.deepEqual(rows('client_id = ?', record.id), []);
});

test('a verified identity applies the key here: a revoked key is refused, a model outside its grant too, its budget mesh-wide', {
  timeout: 60_000,
}, async () => {
  const m = await member();
  const ids = { from: m.peerId, to: b.node.nodeId! };
  const sign = async (keyId: string, request: unknown) => signForwardIdentity(m.key, { keyId }, ids, request, Date.now() + 10_000);
  const revoked = b.node.tenancy.keys.create('gone').record;
  b.node.tenancy.keys.revoke(revoked.id);
  const narrow = b.node.tenancy.keys.create('narrow', { models: ['gpt-4o'] }).record;
  const broke = b.node.tenancy.keys.create('broke', { budgetUsd: 0.000001, budgetPeriod: 'day' }).record;
  b.node.db.prepare('INSERT INTO tenancy_spend (key_id, period, usd) VALUES (?, ?, 1)').run(broke.id, new Date().toISOString().slice(0, 10));
  const before = upstreamCalls();
  const expect = async (keyId: string, status: number, code: string) => {
    const request = valid(`as ${keyId}`);
    const frame = await forward(m.conn, request, await sign(keyId, request));
    assert.equal(frame.error?.status, status, JSON.stringify(frame));
    assert.equal(frame.error?.code, code);
  };
  await expect(revoked.id, 401, 'revoked_api_key');
  await expect(narrow.id, 403, 'model_not_allowed');
  // Its spend as B holds it, read straight from B's database at the first use of this key.
  await expect(broke.id, 429, 'budget_exceeded');
  assert.equal(upstreamCalls(), before);
});

test("a verified identity for a key this node does not hold is served as the peer's own, under its forward limits", { timeout: 60_000 }, async () => {
  const m = await member();
  const request = valid('unknown key');
  const identity = await signForwardIdentity(m.key, { keyId: '0123456789abcdef' }, { from: m.peerId, to: b.node.nodeId! }, request, Date.now() + 10_000);
  const frames = [];
  for (let i = 0; i < 3; i++) frames.push(await forward(m.conn, request, identity));
  assert.deepEqual(
    frames.map((f) => (f.type === 'error' ? f.error!.code : f.type)),
    ['json', 'json', 'rate_limit_exceeded'],
  );
  assert.deepEqual(rows('client_id = ?', `peer:${m.peerId}`), [
    { client: `peer:${m.peerId}`, via: m.peerId },
    { client: `peer:${m.peerId}`, via: m.peerId },
  ]);
});
