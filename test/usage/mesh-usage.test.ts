// Usage across the mesh: `GET /v1/usage?scope=mesh` and `flowrouter usage --mesh` merge every member's rows per client,
// model and day, count a forwarded request once (where it entered), and name the members that did not answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { usageCommand } from '../../src/cli/usage.ts';
import { openDatabase } from '../../src/core/database.ts';
import { localDailyRows, UsageLedger } from '../../src/usage/index.ts';
import { readMeshSecret } from '../../src/mesh/index.ts';
import { createHost, type MeshHost } from '../../src/mesh/host.ts';
import { USAGE_PROTOCOL } from '../../src/mesh/usage-exchange.ts';
import { ADMIN_KEY, call, chat, type TenancyNode } from '../tenancy/setup.ts';
import { startCluster, within, type MeshCluster } from '../tenancy/mesh-setup.ts';

let cluster: MeshCluster;
let a: TenancyNode;
let b: TenancyNode;
let c: TenancyNode;
let k1: { id: string; key: string };
let k2: { id: string; key: string };

const usage = async (node: TenancyNode, query: string) => call(node.url, `/v1/usage?${query}`, { key: ADMIN_KEY });
const byKey = (data: { key: string; requests: number }[]) => Object.fromEntries(data.map((d) => [d.key, d.requests]));

before(async () => {
  cluster = await startCluster(2, { mesh: 'usage_timeout_ms: 1500' });
  [a, b] = cluster.nodes;
  // C's own upstream is dead: what it is asked goes to A or B, and is served there for C.
  c = await cluster.add({ upstream: 'http://127.0.0.1:9/v1' });
  await within(
    15_000,
    'A and B serving the model for C',
    () => c.node.meshLink!.mesh.peers().filter((p) => p.capacity?.models.includes('gpt-4o-mini')).length === 2,
  );
  k1 = (await call(a.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'billing-1' } })).json;
  k2 = (await call(b.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'billing-2' } })).json;
  await within(5_000, 'both keys everywhere', () => cluster.nodes.every((n) => n.node.tenancy.keys.get(k1.id) && n.node.tenancy.keys.get(k2.id)));
  const ask = async (n: TenancyNode, key: string) => assert.equal((await chat(n.url, key, { model: 'gpt-4o-mini' })).status, 200);
  await ask(a, k1.key);
  await ask(a, k1.key);
  await ask(b, k1.key);
  await ask(c, k1.key);
  await ask(b, k2.key);
});

after(async () => {
  await cluster?.close();
});

test("scope=mesh merges every member's rows per client, model and day, a forwarded request counted once", { timeout: 30_000 }, async () => {
  const r = await usage(a, 'scope=mesh&by=client');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.scope, 'mesh');
  assert.equal(r.json.complete, true);
  assert.deepEqual(
    r.json.members.map((m: { status: string }) => m.status),
    ['ok', 'ok', 'ok'],
  );
  // C's request was served by A or B too (a row there, via C), yet k1 made 4 requests, not 5.
  const servedForC = [a, b].reduce((n, m) => {
    m.node.usage.flush();
    return n + (m.node.db.prepare('SELECT count(*) AS n FROM usage_ledger WHERE via_peer = ? AND client_id = ?').get(c.node.nodeId, k1.id) as { n: number }).n;
  }, 0);
  assert.equal(servedForC, 1);
  assert.deepEqual(byKey(r.json.data), { [k1.id]: 4, [k2.id]: 1 });
  assert.deepEqual(byKey((await usage(b, 'scope=mesh&by=model')).json.data), { 'gpt-4o-mini': 5 });
  assert.deepEqual(Object.values(byKey((await usage(c, 'scope=mesh&by=day')).json.data)), [5]);
  // This node alone, as before: A has its own two and perhaps C's forward, never B's.
  assert.ok(byKey((await usage(a, 'by=client')).json.data)[k1.id] <= 3);
  const csv = await fetch(`${a.url}/v1/usage/export.csv?scope=mesh`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines[0], 'day,client,model,requests,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,cache_hits,cost_usd');
  assert.deepEqual(
    lines
      .slice(1)
      .map((l) => l.split(',').slice(1, 4).join(','))
      .sort(),
    [`${k1.id},gpt-4o-mini,4`, `${k2.id},gpt-4o-mini,1`].sort(),
  );
  assert.match(csv.headers.get('x-flowrouter-mesh-members') ?? '', /=ok, .*=ok, .*=ok/);
});

test('scope=mesh groups by model, client or day only, and refuses an unknown scope', async () => {
  for (const [query, param] of [
    ['scope=mesh&by=prompt', 'by'],
    ['scope=everywhere', 'scope'],
  ]) {
    const r = await usage(a, query);
    assert.equal(r.status, 400, query);
    assert.equal(r.json.error.param, param);
  }
});

test('flowrouter usage --mesh prints the merged table and who answered', { timeout: 30_000 }, async () => {
  let printed = '';
  const ask = () => async (path: string) => (await call(a.url, path, { key: ADMIN_KEY })).text;
  await usageCommand(
    undefined,
    (t) => {
      printed += t;
    },
    ask,
  ).parseAsync(['--mesh', '--by', 'client'], { from: 'user' });
  assert.match(printed, /^mesh: 3 of 3 members answered\n/);
  assert.match(printed, new RegExp(`${k1.id}\\s+4\\s`));
});

test('a member that does not answer in time, or cannot be reached, is named and left out of the totals', { timeout: 60_000 }, async () => {
  // A silent member: holds the secret and the protocol, never answers.
  const host: MeshHost = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    mdns: false,
    psk: await readMeshSecret(cluster.secretFile),
    allowlist: null,
  });
  await host.handle(USAGE_PROTOCOL, async () => {
    await new Promise((r) => setTimeout(r, 10_000));
  });
  await host.start();
  try {
    await host.dial(multiaddr(a.node.meshLink!.mesh.status().multiaddrs[0]), { signal: AbortSignal.timeout(5_000) });
    await c.stop();
    cluster.nodes.splice(cluster.nodes.indexOf(c), 1);
    await within(10_000, 'C gone from A', () => !a.node.meshLink!.mesh.libp2p.getPeers().some((p) => p.toString() === c.node.nodeId));
    const started = Date.now();
    const r = await usage(a, 'scope=mesh&by=client');
    assert.ok(Date.now() - started < 5_000, 'one slow member does not hold the answer past the timeout');
    const status = Object.fromEntries(r.json.members.map((m: { peer: string; status: string }) => [m.peer, m.status]));
    assert.equal(status[host.peerId.toString()], 'timeout');
    assert.equal(status[c.node.nodeId!], 'unreachable');
    assert.equal(r.json.complete, false);
    // C's own row (where k1's fourth request entered) is missing now.
    assert.equal(byKey(r.json.data)[k1.id], 3);
  } finally {
    await host.stop();
  }
});

test('days rolled up into daily totals count a forwarded request once too: where it was served', () => {
  const db = openDatabase(':memory:');
  try {
    const ledger = new UsageLedger(db, { flushMs: 10 });
    ledger.stop();
    const day = Date.UTC(2025, 0, 2);
    const insert = db.prepare(`INSERT INTO usage_daily (day_ts, model, client_id, target, requests, errors, prompt_tokens, completion_tokens,
      cached_tokens, cache_write_tokens, cost, cost_saved, cache_hits, tokens_saved, latency_ms_sum) VALUES (?, 'm', ?, ?, ?, 0, 10, 1, 0, 0, 0.5, 0, 0, 0, 30)`);
    // This member's own traffic, what it forwarded (target peer:…) and what it served for a peer.
    insert.run(day, 'k1', 'default/openai/m', 2);
    insert.run(day, 'k1', 'peer:12D3KooWB', 1);
    insert.run(day, 'k2', 'default/openai/m', 1);
    const rows = localDailyRows(db, { from: day, to: day + 86_400_000 });
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[3]]),
      [
        ['2025-01-02', 'k1', 2],
        ['2025-01-02', 'k2', 1],
      ],
    );
  } finally {
    db.close();
  }
});
