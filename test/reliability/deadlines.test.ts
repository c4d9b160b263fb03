// A never-ending upstream stream ends within total_ms + 100 ms, including what the node does after the upstream ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startNode, type TenancyNode } from '../tenancy/setup.ts';
import { loadTokenizer } from '../../src/core/tokens.ts';

const TOTAL_MS = 1500;
let fake: FakeOpenAI;
let gw: TenancyNode;
let key: string;

before(async () => {
  loadTokenizer();
  // Streams one unbroken word, 32 KB every `pace` ms (0: as fast as the socket takes it), never finishes and never
  // reports usage.
  fake = await startFakeOpenAI(async (req, res) => {
    if (!req.body.model.startsWith('endless-')) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const word = 'z'.repeat(32 * 1024);
    const chunk = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: req.body.model, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`;
    const pace = Number(req.body.model.split('-').at(-1));
    while (!res.destroyed) {
      if (!res.write(chunk))
        await new Promise((r) => {
          res.once('drain', r);
          res.once('close', r);
        });
      await new Promise((r) => (pace ? setTimeout(r, pace) : setImmediate(r)));
    }
    return true;
  });
  gw = await startNode(`
auth: { mode: required }
chains:
  default:
    - model: endless-5
      provider: openai
      key: sk-test-0123456789
      url: ${fake.url}
      timeouts: { connect_ms: 1000, first_byte_ms: 1000, total_ms: ${TOTAL_MS} }
  warm:
    - model: warm
      provider: openai
      key: sk-test-0123456789
      url: ${fake.url}
  flood:
    - model: endless-0
      provider: openai
      key: sk-test-0123456789
      url: ${fake.url}
      timeouts: { connect_ms: 1000, first_byte_ms: 1000, total_ms: 60000 }
`);
  key = gw.node.tenancy.keys.create('deadline', { tpm: 100_000_000 }).key;
  // One ordinary streamed request first: what a node does once (compiling the request schemas) is not a deadline's.
  const warm = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'warm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.match(await warm.body.text(), /\[DONE\]/);
});

after(async () => {
  await gw?.stop();
  await fake?.close();
});

async function stream(model: string): Promise<{ ms: number; bytes: number; tail: string }> {
  const started = performance.now();
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'go on forever' }] }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  assert.equal(res.statusCode, 200);
  let tail = '';
  let bytes = 0;
  for await (const part of res.body) {
    bytes += part.length;
    tail = (tail + part.toString()).slice(-4096);
  }
  return { ms: performance.now() - started, bytes, tail };
}

test('a never-ending upstream stream ends within total_ms + 100 ms with an error event, and its row is recorded', { timeout: 30_000 }, async () => {
  const { ms, bytes, tail } = await stream('default');
  assert.ok(bytes > 4 * 1024 * 1024, `only ${bytes} bytes streamed`);
  assert.ok(ms <= TOTAL_MS + 100, `the stream ended after ${ms.toFixed(0)} ms (total_ms ${TOTAL_MS}), ${bytes} bytes`);
  assert.match(tail, /total timeout/);
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT status, completion_tokens, usage_source FROM usage_ledger ORDER BY id DESC LIMIT 1').get() as {
    status: number;
    completion_tokens: number;
    usage_source: string;
  };
  assert.equal(row.status, 504);
  assert.ok(row.completion_tokens > 1000, JSON.stringify(row));
});

test('a never-ending stream as fast as the socket goes is cut at 32 MiB, not buffered until its deadline', { timeout: 30_000 }, async () => {
  const { ms, tail } = await stream('flood');
  assert.match(tail, /upstream stream longer than 33554432 bytes/);
  assert.ok(tail.trimEnd().endsWith('data: [DONE]'));
  assert.ok(ms < 20_000, `${ms} ms`);
});
