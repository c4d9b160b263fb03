// Huge faulty upstream bodies at high concurrency: the node buffers a bounded amount at once, not one body per request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { write } from '../../src/gateway/sse.ts';

let fake: FakeOpenAI;
let gw: TestNode;
const client = new Agent({ connections: 64 });

before(async () => {
  // 40 MB of JSON that never closes its string: each request would buffer 32 MB before failing.
  fake = await startFakeOpenAI(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const block = 'x'.repeat(1024 * 1024);
    res.write('{"choices":[{"message":{"content":"');
    for (let i = 0; i < 40 && !res.destroyed; i++) {
      await write(res, block);
    }
    res.end('"}}]}');
    return true;
  });
  gw = await startTestNode(`
router:
  retries: 0
  breaker_failures: 1000000
chains:
  default:
    - model: gigantic
      provider: local
      url: ${fake.url}
      timeouts: { connect_ms: 2000, first_byte_ms: 10000, total_ms: 60000 }
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
  await client.close();
});

test('32 concurrent 40 MB faulty bodies: each fails clearly and the node never buffers more than 64 MiB of them', { timeout: 120_000 }, async () => {
  let peakArrayBuffers = 0;
  const sampler = setInterval(() => {
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  }, 2);
  const statuses: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = 0; i < 2; i++) {
          const res = await request(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            dispatcher: client,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gigantic', messages: [{ role: 'user', content: 'hi' }] }),
            headersTimeout: 60_000,
            bodyTimeout: 60_000,
          });
          const body = (await res.body.json()) as { error: { message: string } };
          statuses.push(res.statusCode);
          assert.match(body.error.message, /larger than 33554432 bytes|exceed 67108864 bytes/);
        }
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  assert.equal(statuses.length, 64);
  assert.ok(
    statuses.every((s) => s === 502 || s === 503),
    statuses.join(','),
  );
  const { bodies } = gw.node.transport;
  assert.ok(bodies.peak <= 64 * 1024 * 1024, `peak ${bodies.peak}`);
  assert.equal(bodies.bytes, 0);
  // Everything in ArrayBuffers at once: the node's bodies, the fake's queued blocks, the sockets' own buffers and chunks
  // not yet collected — 190–215 MB measured. A body per request held whole would be 32 × 32 MB, over 1 GB.
  assert.ok(peakArrayBuffers < 320 * 1024 * 1024, `ArrayBuffers peaked at ${(peakArrayBuffers / 1048576).toFixed(0)} MB`);
});
