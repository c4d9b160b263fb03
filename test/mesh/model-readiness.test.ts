// What a node offers its peers follows whether its own model server answers, before any request had to fail on it:
// a Pi whose model is down offers nothing, offers it once the server is up, and stops within seconds when it goes down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

const secretDir = tempDir();
let modelPort: number;
let model: FakeOpenAI | undefined;
let a: TestNode;
let c: TestNode;

function piYaml(modelUrl: string, bootstrap: string[] = []): string {
  return `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${join(secretDir.path, 'mesh.key')}
  bootstrap: [${bootstrap.join(', ')}]
chains:
  default:
    - { provider: local, name: pi-llama, model: "llama3.2:1b", url: "${modelUrl}", timeouts: { connect_ms: 500 } }
    - { provider: knowledge, name: offline }
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** C's record as A holds it. */
const seenAtA = () => a.node.meshLink!.mesh.peers().find((p) => p.peerId === c.node.nodeId);

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  modelPort = await freePort();
  // C's model server is not running yet.
  c = await startTestNode(piYaml(`http://127.0.0.1:${modelPort}/v1`));
  a = await startTestNode(piYaml('http://127.0.0.1:9/v1', [c.node.meshLink!.mesh.status().multiaddrs[0]]));
  await until("A to hold C's capacity record", () => seenAtA()?.capacity != null);
});

after(async () => {
  await a?.stop();
  await c?.stop();
  await model?.close();
  secretDir.remove();
});

test('a node whose model server does not answer offers nothing to its peers, though no request ever failed on it', async () => {
  const row = seenAtA()!;
  assert.deepEqual(row.capacity!.models, []);
  assert.equal(row.capacity!.freeConcurrency, 0);
  assert.equal(c.node.router.status().targets.find((t) => t.id === 'pi-llama')?.requests, 0, 'nothing was asked of the model');
});

test('once its model server answers, the node offers the model and its chain', async () => {
  model = await startFakeOpenAI(null, { port: modelPort });
  await until('A to see C offer default', () => seenAtA()?.capacity?.models.includes('default') ?? false);
  assert.ok(seenAtA()!.capacity!.models.includes('llama3.2:1b'));
  const res = await fetch(`${a.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-flowrouter-target'), `peer:${c.node.nodeId}`);
});

test('when its model server goes down, the node stops offering it within seconds', async () => {
  await model!.close();
  model = undefined;
  const started = performance.now();
  await until('A to see C offer nothing', () => (seenAtA()?.capacity?.models.length ?? 0) === 0);
  assert.ok(performance.now() - started < 10_000);
});
