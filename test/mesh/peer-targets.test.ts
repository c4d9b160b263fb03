// Peers as router targets on real loopback nodes built like the Pi configs (a local model, then the knowledge answer):
// peers are asked after the local model and before the knowledge answer, a forward is served only by model targets,
// a node advertises only what its model targets can serve (probed, and while their breakers are closed), and a failing
// peer's breaker opens like any target's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { openaiError, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';

const DEAD = 'http://127.0.0.1:9/v1';
const secretDir = tempDir();
let fake: FakeOpenAI;
/** A model server still loading its model (llama.cpp's 503): it answers the health probe, so its node offers it, but every chat fails. */
let loading: FakeOpenAI;
let a: TestNode;
let b: TestNode | undefined;
let c: TestNode;

/** A Pi-like node: the local model, then the offline knowledge answer; optional extra chains. */
function piYaml(modelUrl: string, bootstrap: string[] = [], extraChains = ''): string {
  return `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${join(secretDir.path, 'mesh.key')}
  bootstrap: [${bootstrap.join(', ')}]
router: { breaker_failures: 2, breaker_window_ms: 60000, breaker_cooldown_ms: 60000 }
chains:
  default:
    - { provider: local, name: pi-llama, model: "llama3.2:1b", url: "${modelUrl}", timeouts: { connect_ms: 500 } }
    - { provider: knowledge, name: offline }
${extraChains}`;
}

async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addr = (n: TestNode) => n.node.meshLink!.mesh.status().multiaddrs[0];
const sees = (from: TestNode, peer: TestNode, model: string) =>
  from.node.meshLink!.mesh.peers().some((p) => p.peerId === peer.node.nodeId && p.capacity?.models.includes(model));

async function chat(node: TestNode, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${node.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(20_000),
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'what is the leave policy' }], ...body }),
  });
}

before(async () => {
  await writeMeshSecret(join(secretDir.path, 'mesh.key'));
  fake = await startFakeOpenAI();
  loading = await startFakeOpenAI((req, res) => {
    if (!req.url.includes('/chat/completions')) return false;
    openaiError(res, 503, 'Loading model', 'unavailable_error');
    return true;
  });
  c = await startTestNode(piYaml(loading.url));
  a = await startTestNode(
    piYaml(
      DEAD,
      [addr(c)],
      `  peers-first:
    - { provider: mesh, model: "llama3.2:1b", timeout_ms: 10000 }
    - { provider: local, name: local-last, model: "llama3.2:1b", url: "${DEAD}" }
`,
    ),
  );
  await until('C at A', () => sees(a, c, 'default'));
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await c?.stop();
  await fake.close();
  await loading.close();
  secretDir.remove();
});

test('a peer whose model fails answers a forward with an error, never its knowledge answer; the knowledge answer comes last, from the asking node', async () => {
  const res = await chat(a, {});
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-target'), 'offline', 'A answered from its own knowledge base');
  assert.match(body.choices[0].message.content, /knowledge base/);
  // The attempts: A's model, then C (which failed: its model fails), then A's knowledge.
  assert.equal(res.headers.get('x-flowrouter-attempts'), '3');
  c.node.usage.flush();
  const served = c.node.db.prepare('SELECT status, target FROM usage_ledger WHERE client_id = ?').all(`peer:${a.node.nodeId}`) as {
    status: number;
    target: string | null;
  }[];
  assert.ok(served.length >= 1, 'C recorded the forward against A');
  assert.ok(
    served.every((r) => r.status >= 500 && r.target !== 'offline'),
    JSON.stringify(served),
  );
});

test('a node advertises only what its model targets can serve now', async () => {
  // C's model failed twice (the test above, and this one): its breaker opens and C stops offering `default`.
  await chat(a, {});
  await until("C's breaker to open", () => c.node.router.status().targets.find((t) => t.id === 'pi-llama')?.breaker.state === 'open');
  await c.node.meshLink!.mesh.refreshCapacity();
  await until('A to see C offer nothing', () => !sees(a, c, 'default') && !sees(a, c, 'llama3.2:1b'));
  const row = a.node.meshLink!.mesh.peers().find((p) => p.peerId === c.node.nodeId);
  assert.equal(row?.capacity?.freeConcurrency, 0);
});

test('with a healthy peer, a node whose model is down forwards before its knowledge answer, JSON and streaming', async () => {
  b = await startTestNode(piYaml(fake.url, [addr(a)]));
  await until('B at A', () => sees(a, b!, 'default'));
  const json = await chat(a, {});
  const body = (await json.json()) as { choices: { message: { content: string } }[] };
  assert.equal(json.status, 200);
  assert.equal(json.headers.get('x-flowrouter-target'), `peer:${b.node.nodeId}`);
  assert.equal(body.choices[0].message.content, 'echo: what is the leave policy');
  assert.equal(fake.requests.at(-1)!.body.model, 'llama3.2:1b', 'B sent its own model upstream');

  const sse = await chat(a, { stream: true });
  const text = await sse.text();
  assert.equal(sse.headers.get('x-flowrouter-target'), `peer:${b.node.nodeId}`);
  assert.match(text, /"content":"echo"/);
  assert.match(text, /data: \[DONE\]\n\n$/);
});

test('a mesh target placed first in a chain asks the peers before the local targets', async () => {
  const res = await chat(a, { model: 'peers-first' });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-flowrouter-target'), `peer:${b!.node.nodeId}`);
  assert.equal(res.headers.get('x-flowrouter-attempts'), '1');
});

test('a peer whose forwards keep failing has its breaker opened by the router and is then skipped at no cost', async () => {
  // Chats fail while the health probe passes: B keeps offering its model, and only A's breaker can stop the waste.
  fake.handler = (req, res) => {
    if (!req.url.includes('/chat/completions')) return false;
    openaiError(res, 500, 'upstream exploded', 'server_error');
    return true;
  };
  try {
    for (let i = 0; i < 2; i++) await (await chat(a, { model: 'peers-first' })).text();
    const peers = (await (await fetch(`${a.baseURL}/mesh/peers`)).json()) as { data: { peerId: string; health: string }[] };
    assert.equal(peers.data.find((p) => p.peerId === b!.node.nodeId)?.health, 'breaker-open');
    const before = b!.node.meshLink!.mesh.status().forwards.in;
    const res = await chat(a, { model: 'peers-first' });
    const body = (await res.json()) as { error: { attempts: { target: string; reason: string; ms: number }[] } };
    const tried = body.error.attempts.find((t) => t.target === `peer:${b!.node.nodeId}`);
    assert.match(tried?.reason ?? '', /circuit open/, JSON.stringify(body));
    assert.equal(b!.node.meshLink!.mesh.status().forwards.in, before, 'B was not asked');
  } finally {
    fake.handler = null;
  }
});
