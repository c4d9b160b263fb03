// Whole Pi-like nodes on loopback, one peer behind a relay that can black-hole the connection: a node whose model is
// down answers from its knowledge base within seconds once its peer stops answering (not after the forward timeout),
// keeps skipping that peer at no cost, takes it back when it answers again, and still waits for a slow model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startBlackholeProxy, type BlackholeProxy } from '../fakes/blackhole-proxy.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

const DEAD = 'http://127.0.0.1:9/v1';
const secretDir = tempDir();
let fake: FakeOpenAI;
let proxy: BlackholeProxy;
let a: TestNode;
let b: TestNode;

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

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Answer {
  status: number;
  target: string | null;
  ms: number;
  body: string;
}

async function ask(): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${a.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(30_000),
    body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'what is the leave policy' }] }),
  });
  const body = await res.text();
  return { status: res.status, target: res.headers.get('x-flowrouter-target'), ms: performance.now() - started, body };
}

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  fake = await startFakeOpenAI();
  b = await startTestNode(piYaml(fake.url));
  const [, , , , bPort, , bId] = b.node.meshLink!.mesh.status().multiaddrs[0].split('/');
  proxy = await startBlackholeProxy(Number(bPort));
  // A reaches B only through the relay.
  a = await startTestNode(piYaml(DEAD, [`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${bId}`]));
  await until('A to see B offer the default chain', () =>
    a.node.meshLink!.mesh.peers().some((p) => p.peerId === b.node.nodeId && p.capacity?.models.includes('default')),
  );
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await proxy?.close();
  await fake?.close();
  secretDir.remove();
});

test("a slow model on a peer is waited for: the short reach bound applies to the peer's libp2p, not to its model", async () => {
  fake.handler = async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    return false;
  };
  try {
    const r = await ask();
    assert.equal(r.status, 200, r.body);
    assert.equal(r.target, `peer:${b.node.nodeId}`);
    assert.ok(r.ms >= 3_000, `answered after ${r.ms} ms`);
  } finally {
    fake.handler = null;
  }
});

test('a peer whose connection goes silent right after a forward is given up on within the reach bound, and the knowledge base answers', async () => {
  const first = await ask();
  assert.equal(first.target, `peer:${b.node.nodeId}`, first.body);
  proxy.freeze();
  const r = await ask();
  assert.equal(r.status, 200, r.body);
  assert.equal(r.target, 'offline');
  // The forward deadline is 120 s and the connection monitor needs 10 s or more: the answer comes after one bound (1.5 s).
  assert.ok(r.ms < 4_000, `answered after ${Math.round(r.ms)} ms`);
});

test('while the peer stays silent, later requests skip it without waiting', async () => {
  const r = await ask();
  assert.equal(r.target, 'offline', r.body);
  assert.ok(r.ms < 1_000, `answered after ${Math.round(r.ms)} ms`);
  assert.equal(b.node.meshLink!.mesh.status().forwards.in, 2, 'B saw only the two forwards before the silence');
});

test('once the peer answers again, requests are forwarded to it again', async () => {
  proxy.thaw();
  await until('a request to be answered by B again', async () => (await ask()).target === `peer:${b.node.nodeId}`, 20_000);
});
