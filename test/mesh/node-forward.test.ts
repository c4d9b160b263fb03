// Whole nodes on a loopback mesh: a node whose upstreams are dead answers through a peer, JSON and streaming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import OpenAI from 'openai';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let a: TestNode;
let b: TestNode;
const secretDir = tempDir();

function meshYaml(chains: string, bootstrap: string[] = []): string {
  return `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${join(secretDir.path, 'mesh.key')}
  bootstrap: [${bootstrap.join(', ')}]
chains:
${chains}`;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  fake = await startFakeOpenAI();
  b = await startTestNode(
    meshYaml(
      `  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-b-only-000000000000\n      url: ${fake.url}\n  only-on-b:\n    - model: special-model\n      provider: local\n      url: ${fake.url}\n`,
    ),
  );
  const bAddr = b.node.meshLink!.mesh.status().multiaddrs[0];
  a = await startTestNode(meshYaml(`  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: http://127.0.0.1:9/v1\n`, [bAddr]));
  await until(() => a.node.meshLink!.mesh.peers().some((p) => p.capacity?.models.includes('special-model')), 15_000, 'capacity of B at A');
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await fake.close();
  secretDir.remove();
});

test('a node whose own targets fail answers through a peer, and names the peer', async () => {
  const client = new OpenAI({ apiKey: 'x', baseURL: a.baseURL, maxRetries: 0 });
  const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'via mesh' }] }).withResponse();
  assert.equal(data.choices[0].message.content, 'echo: via mesh');
  assert.equal(response.headers.get('x-flowrouter-target'), `peer:${b.node.nodeId}`);
  // The upstream key never left B: the request reached the fake with B's key.
  assert.equal(fake.requests.at(-1)!.headers.authorization, 'Bearer sk-b-only-000000000000');
});

test('streaming works end to end through a forward', async () => {
  const client = new OpenAI({ apiKey: 'x', baseURL: a.baseURL, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'streamed' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'echo: streamed');
});

test('a model no local chain serves is forwarded to the peer that serves it', async () => {
  const res = await fetch(`${a.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'special-model', messages: [{ role: 'user', content: 's' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-flowrouter-target'), `peer:${b.node.nodeId}`);
});

test('usage is recorded on both nodes', async () => {
  a.node.usage.flush();
  b.node.usage.flush();
  const count = (n: TestNode) => (n.node.db.prepare('SELECT COUNT(*) AS n FROM usage_ledger').get() as { n: number }).n;
  assert.ok(count(a) >= 3, `A has ${count(a)} rows`);
  assert.ok(count(b) >= 3, `B has ${count(b)} rows`);
});

test('mesh status and peers are served over HTTP', async () => {
  const peers = (await (await fetch(`${a.baseURL}/mesh/peers`)).json()) as { data: { peerId: string }[] };
  assert.ok(peers.data.some((p) => p.peerId === b.node.nodeId));
  const status = (await (await fetch(`${a.baseURL}/mesh/status`)).json()) as { peerId: string };
  assert.equal(status.peerId, a.node.nodeId);
});
