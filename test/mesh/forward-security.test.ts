// Forwards served under attack, on real nodes over a loopback mesh: every frame validated before any work, usage
// attributed to the authenticated peer (never the frame's claims), per-peer limits and budgets, and the accept switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { FORWARD_PROTOCOL, readMeshSecret, writeMeshSecret } from '../../src/mesh/index.ts';
import { createHost, type MeshHost } from '../../src/mesh/host.ts';
import { startFakeOpenAI, chatResponse, type FakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';
import { startNode, type TenancyNode } from '../tenancy/setup.ts';

const secretDir = tempDir('flowrouter-fwd-sec-');
const secretFile = join(secretDir.path, 'mesh.key');
const B_KEY = 'sk-b-upstream-000000000000';
const C_KEY = 'sk-c-upstream-000000000000';

let fake: FakeOpenAI;
let b: TenancyNode;
let c: TenancyNode;
const members: MeshHost[] = [];

function meshYaml(extra: string, chains: string, bootstrap: string[] = []): string {
  return `mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${secretFile}
  bootstrap: [${bootstrap.join(', ')}]
${extra}
chains:
${chains}`;
}

const chainOn = (key: string, model = 'gpt-4o-mini') =>
  `  default:\n    - model: ${model}\n      provider: openai\n      key: ${key}\n      url: ${fake.url}\n`;
const upstreamCalls = (key: string) => fake.requests.filter((r) => r.headers.authorization === `Bearer ${key}`).length;
const addrOf = (n: TenancyNode) => n.node.meshLink!.mesh.status().multiaddrs[0];

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A bare member: holds the secret, speaks the forward protocol by hand. */
async function member(): Promise<{ host: MeshHost; peerId: string; connect(addr: string): Promise<Connection> }> {
  const host = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    mdns: false,
    psk: await readMeshSecret(secretFile),
    allowlist: null,
  });
  await host.start();
  members.push(host);
  return {
    host,
    peerId: host.peerId.toString(),
    connect: async (addr) => {
      // libp2p refuses more than 5 inbound connections a second from one host, and every test peer is 127.0.0.1.
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          return await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) });
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}

type Frame = { type: string; error?: { status: number; code: string | null; message: string }; response?: unknown };

/** Sends one request frame and reads the answer frames up to the last one. */
async function forward(conn: Connection, request: unknown, claims: Record<string, unknown> = {}): Promise<Frame[]> {
  const stream = await conn.newStream(FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
  const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 });
  await lp.write(new TextEncoder().encode(JSON.stringify({ request, deadline: Date.now() + 10_000, hop: 1, client: null, requestId: 'r', ...claims })));
  const frames: Frame[] = [];
  for (;;) {
    const frame = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())) as Frame;
    if (frame.type === 'keepalive') continue;
    frames.push(frame);
    if (frame.type !== 'chunk') break;
  }
  await stream.close().catch(() => undefined);
  return frames;
}

const valid = (content = 'hello') => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

before(async () => {
  await writeMeshSecret(secretFile);
  fake = await startFakeOpenAI();
  b = await startNode(
    meshYaml('  forward_limits: { rpm: 5, budget_usd: 0.01, budget_period: day }', chainOn(B_KEY)).replace('mesh:', 'auth: { mode: required }\nmesh:'),
  );
  c = await startNode(meshYaml('  accept_forwards: false', chainOn(C_KEY, 'c-only-model')));
});

after(async () => {
  await Promise.all(members.map((m) => m.stop()));
  await b?.stop();
  await c?.stop();
  await fake.close();
  secretDir.remove();
});

for (const [what, request, code] of [
  [
    'a message role that is a number, n: 1e9 and stream: "yes"',
    { model: 'gpt-4o-mini', n: 1e9, stream: 'yes', messages: [{ role: 5, content: 'x' }] },
    'invalid_value',
  ],
  [
    'a tool message answering no tool call',
    {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'tool', content: 'y' },
      ],
    },
    'missing_required_parameter',
  ],
  ['no messages', { model: 'gpt-4o-mini' }, 'missing_required_parameter'],
  ['a request that is a string', 'gpt-4o-mini please', 'invalid_value'],
  ['a model name with control characters', { model: 'gpt-4o-mini\r\nx-injected: 1', messages: [{ role: 'user', content: 'x' }] }, 'invalid_value'],
] as const) {
  test(`a forward frame with ${what} gets a 400 error frame and nothing is sent upstream`, { timeout: 30_000 }, async () => {
    const m = await member();
    const conn = await m.connect(addrOf(b));
    const before = upstreamCalls(B_KEY);
    const frames = await forward(conn, request);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].type, 'error');
    assert.equal(frames[0].error!.status, 400);
    assert.equal(frames[0].error!.code, code);
    assert.equal(upstreamCalls(B_KEY), before);
  });
}

test("forwarded usage is recorded against peer:<id> of the connection, never the frame's client or request id", { timeout: 30_000 }, async () => {
  const m = await member();
  const conn = await m.connect(addrOf(b));
  for (let i = 0; i < 2; i++) {
    const frames = await forward(conn, valid(`attribution ${i}`), { client: 'forged-client-id-VICTIM', requestId: 'same-id-every-time' });
    assert.equal(frames[0].type, 'json', JSON.stringify(frames));
  }
  b.node.usage.flush();
  const rows = b.node.db.prepare('SELECT client_id, request_id FROM usage_ledger WHERE client_id = ?').all(`peer:${m.peerId}`) as { request_id: string }[];
  assert.equal(rows.length, 2, 'a repeated request id does not hide a forward from the ledger');
  assert.equal(
    (b.node.db.prepare("SELECT COUNT(*) AS n FROM usage_ledger WHERE client_id LIKE '%VICTIM%' OR request_id = 'same-id-every-time'").get() as { n: number }).n,
    0,
  );
});

test('mesh.forward_limits.rpm caps each peer: the request over the limit gets a 429 error frame before any work', { timeout: 30_000 }, async () => {
  const m = await member();
  const conn = await m.connect(addrOf(b));
  const before = upstreamCalls(B_KEY);
  const types: string[] = [];
  for (let i = 0; i < 7; i++) {
    const [frame] = await forward(conn, valid(`rpm ${i}`));
    types.push(frame.type === 'error' ? `${frame.error!.status} ${frame.error!.code}` : frame.type);
  }
  assert.deepEqual(types, ['json', 'json', 'json', 'json', 'json', '429 rate_limit_exceeded', '429 rate_limit_exceeded']);
  assert.equal(upstreamCalls(B_KEY) - before, 5);
  // Another peer has a window of its own.
  const other = await member();
  assert.equal((await forward(await other.connect(addrOf(b)), valid('other peer')))[0].type, 'json');
});

test('mesh.forward_limits.budget_usd: a peer that spent its budget is refused with budget_exceeded, and its spend is kept', { timeout: 30_000 }, async () => {
  const m = await member();
  const conn = await m.connect(addrOf(b));
  fake.handler = (req, res) => {
    // An expensive answer: 100k prompt and 100k completion tokens of gpt-4o-mini cost $0.075.
    const body = JSON.stringify(chatResponse(req.body.model, 'long', { usage: { prompt_tokens: 100_000, completion_tokens: 100_000, total_tokens: 200_000 } }));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
  try {
    const before = upstreamCalls(B_KEY);
    assert.equal((await forward(conn, valid('expensive')))[0].type, 'json');
    const [refused] = await forward(conn, valid('one more'));
    assert.equal(refused.type, 'error');
    assert.equal(refused.error!.status, 429);
    assert.equal(refused.error!.code, 'budget_exceeded');
    assert.match(refused.error!.message, /\$0\.0750 of \$0\.0100 spent/);
    assert.equal(upstreamCalls(B_KEY) - before, 1);
    const spend = b.node.db.prepare('SELECT usd FROM tenancy_spend WHERE key_id = ?').get(`peer:${m.peerId}`) as { usd: number };
    assert.ok(Math.abs(spend.usd - 0.075) < 1e-9, `spend ${spend.usd}`);
  } finally {
    fake.handler = null;
  }
});

test('on a node with auth required, /v1/mesh/* refuses a client key (an operator route)', async () => {
  const { key } = b.node.tenancy.keys.create('mesh-prober');
  for (const path of ['/v1/mesh/status', '/v1/mesh/peers']) {
    const res = await fetch(`${b.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    assert.ok(res.status === 401 || res.status === 403, `${path}: ${res.status}`);
    assert.doesNotMatch(await res.text(), /12D3KooW/);
  }
});

test('a node with auth required says in its log at start what members may spend through it', () => {
  assert.match(b.logs(), /each member may spend through this node's upstream accounts at most 5 requests\/min, \$0\.0100 per day/);
});

test('a node with auth required and no forward limits warns at start that members may spend its accounts without limits', { timeout: 30_000 }, async () => {
  const open = await startNode(meshYaml('', chainOn(B_KEY)).replace('mesh:', 'auth: { mode: required }\nmesh:'));
  try {
    assert.match(open.logs(), /"level":40[^\n]*may spend this node's upstream accounts through forwarded requests WITHOUT LIMITS/);
  } finally {
    await open.stop();
  }
});

test('with mesh.accept_forwards: false a peer gets a clear error frame and nothing is sent upstream', { timeout: 30_000 }, async () => {
  const m = await member();
  const before = upstreamCalls(C_KEY);
  const [frame] = await forward(await m.connect(addrOf(c)), { model: 'c-only-model', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(frame.type, 'error');
  assert.equal(frame.error!.status, 503);
  assert.equal(frame.error!.code, 'mesh_forwards_disabled');
  assert.match(frame.error!.message, /accept_forwards: false/);
  assert.equal(upstreamCalls(C_KEY), before);
  assert.match(c.logs(), /serves no forwarded requests/);
});

test('a member without auth forwarding anonymous requests spends the auth-required node only within its per-peer limits, and never a node that accepts no forwards', {
  timeout: 60_000,
}, async () => {
  const a = await startNode(
    meshYaml('', `  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-dead\n      url: http://127.0.0.1:9/v1\n`, [
      addrOf(b),
      addrOf(c),
    ]).replace('mesh:', 'auth: { mode: none }\nmesh:'),
  );
  try {
    await until(
      () => a.node.meshLink!.mesh.peers().some((p) => p.peerId === b.node.nodeId && p.capacity?.models.includes('gpt-4o-mini')),
      15_000,
      "B's capacity at A",
    );
    await until(() => a.node.meshLink!.mesh.peers().some((p) => p.peerId === c.node.nodeId && p.capacity !== null), 15_000, "C's capacity at A");
    // C serves forwards to nobody, so it advertises nothing to forward to.
    const cRow = a.node.meshLink!.mesh.peers().find((p) => p.peerId === c.node.nodeId)!;
    assert.deepEqual(cRow.capacity!.models, []);
    assert.equal(cRow.capacity!.freeConcurrency, 0);

    const before = upstreamCalls(B_KEY);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${a.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(valid(`anonymous ${i}`)),
        signal: AbortSignal.timeout(20_000),
      });
      statuses.push(res.status);
      await res.text();
    }
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
    assert.equal(upstreamCalls(B_KEY) - before, 5);
    b.node.usage.flush();
    const rows = (b.node.db.prepare('SELECT COUNT(*) AS n FROM usage_ledger WHERE client_id = ?').get(`peer:${a.node.nodeId}`) as { n: number }).n;
    assert.equal(rows, 5);
    // The model only C serves is not forwarded to C.
    const cOnly = await fetch(`${a.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'c-only-model', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.notEqual(cOnly.status, 200);
    await cOnly.text();
    assert.equal(upstreamCalls(C_KEY), 0);
  } finally {
    await a.stop();
  }
});
