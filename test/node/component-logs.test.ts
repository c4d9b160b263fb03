// A node's log as an operator reads it: every mesh component logs through its own pino child (one `component` per
// line), replication names the log it is about, and peers joining, leaving and syncing are told at info.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, call, type TenancyNode } from '../tenancy/setup.ts';
import { startCluster, within } from '../tenancy/mesh-setup.ts';

type Line = { level: number; msg: string; component?: string; log?: string; [k: string]: unknown };
const INFO = 30;

/** The node's JSON log lines (its stderr warnings are captured alongside as plain text). */
function lines(node: TenancyNode): Line[] {
  return node
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

const logged = (node: TenancyNode, msg: string, match: Partial<Line> = {}): Line | undefined =>
  lines(node).find((l) => l.msg === msg && Object.entries(match).every(([k, v]) => l[k] === v));

test('mesh components log under their own names at the level an operator needs, one component per line', { timeout: 60_000 }, async () => {
  const cluster = await startCluster(1);
  try {
    const [a] = cluster.nodes;
    // A key written before B joins reaches B by anti-entropy when it connects: a sync that brought something.
    const created = await call(a.url, '/admin/keys', { method: 'POST', key: ADMIN_KEY, body: { name: 'logged' } });
    assert.equal(created.status, 201, created.text);
    const b = await cluster.add();
    const aId = a.node.nodeId!;
    const bId = b.node.nodeId!;

    await within(10_000, 'B to log the key sync', () => logged(b, 'replication:synced', { component: 'replication', log: 'keys', peer: aId }) !== undefined);
    const synced = logged(b, 'replication:synced', { log: 'keys', peer: aId })!;
    assert.equal(synced.level, INFO);
    assert.ok((synced.received as number) >= 1);

    assert.equal(logged(a, 'mesh:started', { component: 'mesh' })?.level, INFO);
    assert.equal(logged(a, 'replication:started', { component: 'replication', log: 'kb' })?.level, INFO);
    assert.equal(logged(a, 'replication:started', { component: 'replication', log: 'keys' })?.level, INFO);
    await within(10_000, 'A to log B joining', () => logged(a, 'mesh:connected', { component: 'mesh', peer: bId })?.level === INFO);

    cluster.nodes.splice(cluster.nodes.indexOf(b), 1);
    await b.stop();
    await within(10_000, 'A to log B leaving', () => logged(a, 'mesh:disconnected', { component: 'mesh', peer: bId })?.level === INFO);

    // pino writes a child's bindings after its parent's: a component's child taken from another would name two.
    for (const node of [a, b]) {
      const twice = node
        .logs()
        .split('\n')
        .filter((l) => (l.match(/"component":/g) ?? []).length > 1);
      assert.deepEqual(twice, []);
    }
  } finally {
    await cluster.close();
  }
});
