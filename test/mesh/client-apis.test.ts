// The Messages and Responses APIs reach mesh peers like chat does: two real nodes on loopback, a client of each API
// on one, the model served only by the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

const secretDir = tempDir();
let fake: FakeOpenAI;
let front: TestNode;
let server: TestNode;

const mesh = (bootstrap: string[] = []) => `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${join(secretDir.path, 'mesh.key')}
  bootstrap: [${bootstrap.join(', ')}]
`;

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  fake = await startFakeOpenAI();
  server = await startTestNode(`${mesh()}chains:\n  default:\n    - { provider: local, name: peer-model, model: vendor-model, url: "${fake.url}" }\n`);
  const addr = server.node.meshLink!.mesh.status().multiaddrs[0];
  front = await startTestNode(`${mesh([addr])}chains:\n  default:\n    - { provider: mesh, model: vendor-model, timeout_ms: 10000 }\n`);
  const deadline = Date.now() + 15_000;
  while (!front.node.meshLink!.mesh.peers().some((p) => p.peerId === server.node.nodeId && p.capacity?.models.includes('vendor-model'))) {
    if (Date.now() > deadline) throw new Error('the front node never saw the serving peer');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await front?.stop();
  await server?.stop();
  await fake.close();
  secretDir.remove();
});

test('a Messages request, streamed, is served by the mesh peer that has the model', async () => {
  const client = new Anthropic({ apiKey: 'any', baseURL: front.url, maxRetries: 0 });
  const stream = client.messages.stream({ model: 'default', max_tokens: 20, messages: [{ role: 'user', content: 'via the mesh' }] });
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'echo: via the mesh' }]);
  assert.equal((await stream.withResponse()).response.headers.get('x-flowrouter-target'), `peer:${server.node.nodeId}`);
  assert.equal(fake.requests.at(-1)!.body.model, 'vendor-model');
});

test("a Responses request is served by the mesh peer, and continued there from the front node's store", async () => {
  const client = new OpenAI({ apiKey: 'any', baseURL: front.baseURL, maxRetries: 0 });
  const first = await client.responses.create({ model: 'default', input: 'one' });
  const second = await client.responses.create({ model: 'default', input: 'two', previous_response_id: first.id });
  assert.equal(second.output_text, 'echo: two');
  assert.deepEqual(
    fake.requests.at(-1)!.body.messages.map((m: { content: string }) => m.content),
    ['one', 'echo: one', 'two'],
  );
});
