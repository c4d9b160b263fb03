// Client keys' limits hold across the mesh, on whole nodes over real libp2p: an rpm spread over three members admits
// the limit plus at most one request per other member, and a budget spent on two members stays within one request's
// estimate of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keysCommand } from '../../src/cli/keys.ts';
import type { TenancyNode } from './setup.ts';
import { ADMIN_KEY, call, chat } from './setup.ts';
import { startCluster, within, type MeshCluster } from './mesh-setup.ts';

const FAST = 'shared_limits: { heartbeat_ms: 250, contact_timeout_ms: 1000 }';
let cluster: MeshCluster;

const createKey = async (on: TenancyNode, body: Record<string, unknown>) =>
  (await call(on.url, '/admin/keys', { key: ADMIN_KEY, body })).json as { id: string; key: string };
const inContactWithAll = (nodes: TenancyNode[]) =>
  nodes.every((n) => n.node.tenancy.shared!.status().members.filter((m) => m.inContact).length === nodes.length - 1);
const everywhere = (nodes: TenancyNode[], id: string) =>
  within(5_000, 'the key on every member', () => nodes.every((n) => n.node.tenancy.keys.get(id) !== undefined));

before(async () => {
  cluster = await startCluster(3, { mesh: FAST });
  await within(10_000, 'every member in contact for the limits', () => inContactWithAll(cluster.nodes));
});

after(async () => {
  await cluster?.close();
});

test('an rpm of 12 spread over three members admits between 12 and 14 (12 + one request per other member)', { timeout: 60_000 }, async () => {
  const { key, id } = await createKey(cluster.nodes[0], { name: 'rpm-12', rpm: 12 });
  await everywhere(cluster.nodes, id);
  const before = cluster.fake.requests.length;
  const replies = await Promise.all(
    cluster.nodes.flatMap((n) =>
      Array.from({ length: 12 }, (_, i) => chat(n.url, key, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] })),
    ),
  );
  const ok = replies.filter((r) => r.status === 200).length;
  assert.ok(ok >= 12 && ok <= 14, `admitted ${ok}`);
  for (const r of replies.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, 'rate_limit_exceeded');
    assert.match(r.json.error.message, /12 requests per minute across the mesh/);
  }
  assert.equal(cluster.fake.requests.length - before, ok, 'every admitted request went upstream, no refused one did');
  // Every member counts the same minute.
  await within(2_000, 'the same totals everywhere', () => cluster.nodes.every((n) => Math.round(n.node.tenancy.shared!.rate(id, { rpm: 12 }).requests) === ok));
});

test("a budget spent on two members at once stays within one request's estimate of it", { timeout: 60_000 }, async () => {
  const [a, b] = cluster.nodes;
  const { key, id } = await createKey(a, { name: 'budget-2', budget_usd: 0.01, budget_period: 'day' });
  await everywhere(cluster.nodes, id);
  // Each answer: 1 prompt and 1000 completion tokens of gpt-4o-mini ($0.00060015), held beforehand at max_tokens 1000.
  cluster.fake.handler = async (req, res) => {
    await new Promise((r) => setTimeout(r, 20));
    const body = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: req.body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 1, completion_tokens: 1000, total_tokens: 1001 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
  try {
    const replies = await Promise.all([a, b].flatMap((n) => Array.from({ length: 15 }, () => chat(n.url, key, { model: 'gpt-4o-mini', max_tokens: 1000 }))));
    const ok = replies.filter((r) => r.status === 200).length;
    for (const r of replies.filter((x) => x.status !== 200)) assert.equal(r.json?.error?.code, 'budget_exceeded', r.text);
    const spent = a.node.tenancy.budgets.spent(id, 'day') + b.node.tenancy.budgets.spent(id, 'day');
    const estimate = (1000 * 0.6 + 20 * 0.15) / 1e6;
    assert.ok(spent <= 0.01 + estimate, `spent $${spent} in ${ok} answers`);
    assert.ok(spent >= 0.01 - 2 * estimate, `spent only $${spent}`);
    const refused = replies.find((r) => r.status === 429);
    assert.match(refused!.json.error.message, /across the mesh/);
    // Each member reports the key's spend mesh-wide: over the admin API at once, in `keys ls` once saved (every 5 heartbeats).
    const meshSpent = async () =>
      ((await call(a.url, '/admin/keys', { key: ADMIN_KEY })).json.data as { id: string; mesh_spent_usd: number }[]).find((k) => k.id === id)!.mesh_spent_usd;
    await within(2_000, 'the mesh-wide spend on A', async () => Math.abs((await meshSpent()) - spent) < 1e-9);
    await within(5_000, 'the spend saved for the CLI', async () => {
      let out = '';
      await keysCommand({
        out: (t) => {
          out += t;
        },
        fail: (e) => {
          throw e;
        },
      }).parseAsync(['ls', '--json', '--data-dir', a.dataDir, '--config', join(a.dataDir, 'config.yaml')], { from: 'user' });
      const listed = (JSON.parse(out) as { id: string; mesh_spent_usd?: number }[]).find((k) => k.id === id);
      return listed?.mesh_spent_usd !== undefined && Math.abs(listed.mesh_spent_usd - spent) < 1e-9;
    });
  } finally {
    cluster.fake.handler = null;
  }
});
