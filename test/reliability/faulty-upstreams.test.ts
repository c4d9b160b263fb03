// Faulty upstreams: each misbehaviour ends in bounded time with a clear error, and 10,000 of them leak nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request, Agent } from 'undici';
import { startFakeOpenAI, chatResponse, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let fake: FakeOpenAI;
let gw: TestNode;
const client = new Agent({ connections: 64 });

const FAULTS = ['hang-headers', 'hang-mid-stream', 'malformed-json', 'malformed-sse', 'error-body', 'reset', 'trickle', 'gigantic', 'truncated-json'] as const;
type Fault = (typeof FAULTS)[number];

before(async () => {
  fake = await startFakeOpenAI(async (req, res) => {
    const fault = req.body.model as Fault | 'ok';
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    switch (fault) {
      case 'hang-headers':
        return true; // never answers; the gateway's first-byte timeout must end it
      case 'hang-mid-stream':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('partial'));
        return true;
      case 'malformed-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices": [ oops');
        return true;
      case 'truncated-json':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.end('{"choices": [');
        return true;
      case 'malformed-sse':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {not json}\n\ndata: [DONE]\n\n');
        return true;
      case 'error-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'upstream exploded', type: 'server_error' } }));
        return true;
      case 'reset':
        req.headers;
        res.socket?.destroy();
        return true;
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const text = JSON.stringify(chatResponse('m', 'slow but complete'));
        for (let i = 0; i < text.length; i += 40) {
          res.write(text.slice(i, i + 40));
          await new Promise((r) => setTimeout(r, 2));
        }
        res.end();
        return true;
      }
      case 'gigantic': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const block = 'x'.repeat(1024 * 1024);
        res.write('{"choices":[{"message":{"content":"');
        for (let i = 0; i < 40 && !res.destroyed; i++) {
          if (!res.write(block)) await new Promise((r) => res.once('drain', r));
        }
        res.end('"}}]}');
        return true;
      }
      default:
        return false;
    }
  });
  // Only the hanging faults need a short first-byte timeout; the others get room for a loaded machine.
  const timeouts = (f: Fault) =>
    f.startsWith('hang') ? '{ connect_ms: 500, first_byte_ms: 300, total_ms: 2000 }' : '{ connect_ms: 2000, first_byte_ms: 3000, total_ms: 8000 }';
  const chains = FAULTS.map((f) => `  ${f}:\n    - model: ${f}\n      provider: local\n      url: ${fake.url}\n      timeouts: ${timeouts(f)}\n`).join('');
  gw = await startTestNode(
    `router:\n  retries: 0\n  breaker_failures: 1000000\nchains:\n${chains}  refused:\n    - model: refused\n      provider: local\n      url: http://127.0.0.1:9/v1\n  ok:\n    - model: ok\n      provider: local\n      url: ${fake.url}\n`,
  );
});

after(async () => {
  await gw.stop();
  await fake.close();
  await client.close();
});

async function call(model: string, stream = false) {
  const started = performance.now();
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: client,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - started };
}

const expectations: [Fault | 'refused', boolean, RegExp, number][] = [
  ['refused', false, /connection failed/, 502],
  ['hang-headers', false, /first-byte timeout/, 504],
  ['hang-mid-stream', true, /silent|timeout/, 200],
  ['malformed-json', false, /malformed JSON/, 502],
  ['truncated-json', false, /went silent/, 504],
  ['malformed-sse', true, /malformed stream event/, 502],
  ['error-body', false, /upstream exploded/, 502],
  ['reset', false, /connection failed/, 502],
  ['gigantic', false, /larger than/, 502],
];

for (const [fault, stream, message, status] of expectations) {
  test(`an upstream that is ${fault} ends in bounded time with a clear error`, async () => {
    const r = await call(fault, stream);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.match(r.text, message);
    if (stream && status === 200) assert.ok(r.text.trimEnd().endsWith('data: [DONE]'), r.text);
    else assert.equal(typeof JSON.parse(r.text).error.message, 'string');
  });
}

test('a trickling upstream still completes', async () => {
  const r = await call('trickle');
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /slow but complete/);
});

test('10,000 faulty requests leave no sockets, timers or heap behind', async () => {
  const fast: string[] = ['refused', 'malformed-json', 'malformed-sse', 'error-body', 'reset', 'ok'];
  // Warm up, then measure a baseline.
  for (let i = 0; i < 200; i++) await call(fast[i % fast.length], i % 2 === 0);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const total = 10_000;
  const slowEvery = 500; // a few hanging ones keep the timeout paths in the mix
  let next = 0;
  const statuses = new Map<number, number>();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const model = i % slowEvery === 0 ? 'hang-headers' : fast[i % fast.length];
      const r = await call(model, i % 3 === 0);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(r.status === 200 || r.status >= 500, `${model}: ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  assert.equal(
    [...statuses.values()].reduce((a, b) => a + b, 0),
    total,
  );
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const grown = (heapAfter - heapBefore) / 1024 / 1024;
  assert.ok(grown < 40, `heap grew ${grown.toFixed(1)} MB`);
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.ok(timers < 50, `${timers} timers still active`);
  const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  assert.ok(sockets < 200, `${sockets} sockets still open`);
});
