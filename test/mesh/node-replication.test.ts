// Whole nodes replicate their knowledge base: a document added on A over HTTP is searchable on B, and B answers from
// it through the knowledge target once A is gone and no upstream is reachable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

let a: TestNode | undefined;
let b: TestNode;
const secretDir = tempDir();

function yaml(bootstrap: string[]): string {
  return `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${join(secretDir.path, 'mesh.key')}
  bootstrap: [${bootstrap.join(', ')}]
chains:
  default:
    - model: m
      provider: local
      url: http://127.0.0.1:9/v1
    - provider: knowledge
      collection: field-notes
`;
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  a = await startTestNode(yaml([]));
  b = await startTestNode(yaml([a.node.meshLink!.mesh.status().multiaddrs[0]]));
  await until(async () => b.node.meshLink!.mesh.peers().some((p) => p.connected), 15_000, 'B connected to A');
});

after(async () => {
  await a?.stop();
  await b.stop();
  secretDir.remove();
});

test('a document added on A over HTTP becomes searchable on B', async () => {
  const res = await fetch(`${a!.baseURL}/kb/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'pump',
      collection: 'field-notes',
      title: 'Pump',
      text: 'The irrigation pump on the north field restarts after a fuse change.',
    }),
  });
  assert.ok(res.ok, await res.text());
  await until(
    async () => {
      const r = await fetch(`${b.baseURL}/kb/search?q=irrigation&collection=field-notes`);
      const body = (await r.json()) as { data: { docId: string }[] };
      return body.data.some((hit) => hit.docId === 'pump');
    },
    15_000,
    'the document on B',
  );
  const status = (await (await fetch(`${b.baseURL}/mesh/status`)).json()) as { replication: { versions: Record<string, number> } };
  assert.ok(status.replication.versions[a!.node.nodeId!] >= 1);
});

test('isolated, with no upstream and no peer, B answers from its replicated knowledge', async () => {
  await a!.stop();
  a = undefined;
  const res = await fetch(`${b.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'why did the irrigation pump stop?' }] }),
  });
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.match(body.choices[0].message.content, /fuse change/);
  assert.match(res.headers.get('x-flowrouter-target') ?? '', /knowledge/);
});
