// Faulty peers on a real loopback mesh: a member that hangs, sends garbage, oversized or unframed bytes, or floods the victim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lpStream } from '@libp2p/utils';
import { CAPACITY_PROTOCOL, FORWARD_PROTOCOL, writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir, type TestNode } from '../helpers.ts';
import { startRoguePeer, type RogueMode, type RoguePeer } from './rogue-peer.ts';

const FORWARD_TIMEOUT_MS = 3_000;
const DEAD = 'http://127.0.0.1:9/v1';

let fake: FakeOpenAI;
let victim: TestNode;
let good: TestNode;
const secretDir = tempDir();
const secretFile = join(secretDir.path, 'mesh.key');
const rogues: RoguePeer[] = [];

function meshYaml(chains: string, bootstrap: string[] = []): string {
  return (
    `mesh:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  secret_file: ${secretFile}\n  forward_timeout_ms: ${FORWARD_TIMEOUT_MS}\n`
    + `  bootstrap: [${bootstrap.join(', ')}]\nchains:\n${chains}`
  );
}

async function until<T>(what: string, check: () => T, ms = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function chat(node: TestNode, model: string, stream = false): Promise<Response> {
  return fetch(`${node.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(30_000),
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

async function assertHealthy(node: TestNode): Promise<void> {
  const health = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(15_000) });
  assert.equal(health.status, 200);
  const res = await chat(node, 'ok-model');
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content, 'echo: hi');
}

/** A clear OpenAI-shaped gateway error (502 or 504), never a 200 carrying an error nor a bare 500. */
async function assertClearUpstreamError(res: Response): Promise<void> {
  const text = await res.text();
  assert.ok(res.status === 502 || res.status === 504, `status ${res.status}: ${text}`);
  const body = JSON.parse(text) as { error: { message: unknown; type: unknown; code: unknown } };
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.type, 'string');
}

async function rogueAt(mode: RogueMode): Promise<RoguePeer> {
  const rogue = await startRoguePeer(secretFile, ['gpt-4o-mini', 'rogue-only-model'], mode);
  rogues.push(rogue);
  await rogue.dial(victim.node.meshLink!.mesh.status().multiaddrs[0]);
  await until('the rogue capacity at the victim', () => victim.node.meshLink!.mesh.peers().find((p) => p.peerId === rogue.peerId && p.capacity));
  return rogue;
}

before(async () => {
  await writeMeshSecret(secretFile);
  fake = await startFakeOpenAI();
  victim = await startTestNode(
    meshYaml(
      `  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: ${DEAD}\n`
        + `  local-ok:\n    - model: ok-model\n      provider: local\n      url: ${fake.url}\n`,
    ),
  );
  // The good peer's first target is dead, so it advertises a high error rate and every rogue ranks above it.
  good = await startTestNode(
    meshYaml(
      `  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: ${DEAD}\n    - name: live\n      model: gpt-4o-mini\n      provider: local\n      url: ${fake.url}\n`,
      [victim.node.meshLink!.mesh.status().multiaddrs[0]],
    ),
  );
  assert.equal((await chat(good, 'gpt-4o-mini')).status, 200);
  await good.node.meshLink!.mesh.refreshCapacity();
  await until('the good peer at the victim', () =>
    victim.node.meshLink!.mesh.peers().find((p) => p.peerId === good.node.nodeId && (p.capacity?.errorRate ?? 0) > 0),
  );
});

after(async () => {
  await Promise.all(rogues.map((r) => r.stop().catch(() => undefined)));
  await victim?.stop();
  await good?.stop();
  await fake.close();
  secretDir.remove();
});

for (const mode of ['hang', 'garbage', 'bad-shapes', 'bad-status', 'oversized', 'raw-bytes'] as const) {
  test(`a rogue peer that answers a forward with "${mode}" yields a clear error or another peer's answer, in time`, { timeout: 30_000 }, async (t) => {
    const rogue = await rogueAt(mode);
    t.after(() => rogue.stop());
    // Only the rogue serves this model: the client must get a clear gateway error within the forward deadline.
    let started = performance.now();
    await assertClearUpstreamError(await chat(victim, 'rogue-only-model'));
    assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS + 2_000, `took ${performance.now() - started} ms`);
    assert.ok(rogue.forwardsSeen >= 1, 'the rogue was asked');

    // With a good peer too: its answer, or (when the rogue hangs) a clear timeout at the forward deadline.
    for (const stream of [false, true]) {
      started = performance.now();
      const res = await chat(victim, 'gpt-4o-mini', stream);
      if (mode === 'hang') {
        await assertClearUpstreamError(res);
      } else {
        const text = await res.text();
        assert.equal(res.status, 200, text);
        assert.equal(res.headers.get('x-flowrouter-target'), `peer:${good.node.nodeId}`);
        assert.ok(stream ? text.includes('data: [DONE]') && !text.includes('"error"') : text.includes('echo: hi'), text);
      }
      assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS + 2_000, `took ${performance.now() - started} ms`);
    }
    assert.ok(rogue.forwardsSeen >= 2, `the rogue ranked first (asked ${rogue.forwardsSeen} times)`);
    await assertHealthy(victim);
  });
}

test('a member flooding the victim with streams and requests leaves it healthy and serving', { timeout: 60_000 }, async (t) => {
  const rogue = await rogueAt('garbage');
  t.after(() => rogue.stop());
  const conn = await rogue.dial(victim.node.meshLink!.mesh.status().multiaddrs[0]);
  const silent: Promise<unknown>[] = [];
  const served: Promise<string>[] = [];
  // Streams that never send their request, forwards the victim must serve, and garbage capacity records, all at once.
  for (let i = 0; i < 300; i++) {
    silent.push(conn.newStream(FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5_000) }).catch(() => null));
  }
  for (let i = 0; i < 200; i++) {
    served.push(
      (async () => {
        const stream = await conn.newStream(FORWARD_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
        const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 });
        const frame = {
          request: { model: 'ok-model', messages: [{ role: 'user', content: `flood ${i}` }] },
          deadline: Date.now() + 10_000,
          hop: 1,
          client: null,
          requestId: `flood-${i}`,
        };
        await lp.write(new TextEncoder().encode(JSON.stringify(frame)));
        const answer = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(15_000) })).subarray())) as { type: string };
        await stream.close().catch(() => undefined);
        return answer.type;
      })().catch((err: Error) => `failed: ${err.message}`),
    );
  }
  const capacityFlood = Array.from({ length: 30 }, async () => {
    const stream = await conn.newStream(CAPACITY_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
    await lpStream(stream).write(new TextEncoder().encode('{"peerId":"forged"}'));
    await stream.close().catch(() => undefined);
  }).map((p) => p.catch(() => undefined));
  // While the flood is in flight, the node answers its own clients.
  // (The rogue shares this process's event loop, so the bound is loose; the point is an answer, not its speed.)
  await assertHealthy(victim);
  const answers = await Promise.all(served);
  await Promise.all([...silent, ...capacityFlood]);
  const json = answers.filter((a) => a === 'json').length;
  assert.ok(json >= 180, `the victim served ${json} of 200 flooded forwards: ${[...new Set(answers)].join('; ')}`);
  await rogue.stop();
  await assertHealthy(victim);
  const res = await chat(victim, 'gpt-4o-mini');
  assert.equal(res.status, 200, await res.clone().text());
  // The forged capacity records were refused: the victim still holds only genuine peers.
  assert.ok(victim.node.meshLink!.mesh.peers().every((p) => p.peerId !== 'forged'));
});
