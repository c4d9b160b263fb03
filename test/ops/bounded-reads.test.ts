// Status and metrics reads cost O(targets), whatever the number of requests served or the model names upstreams invent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { startFakeOpenAI, chatResponse, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;
let answered = 0;
const client = new Agent({ connections: 16 });

before(async () => {
  // A faulty upstream names a new model in every answer.
  fake = await startFakeOpenAI(async (req, res) => {
    fake.requests.length = 0;
    const body = JSON.stringify(chatResponse(`invented-model-${answered++}`, `echo ${req.body.messages[0].content}`));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return true;
  });
  gw = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-test-0123456789
      url: ${fake.url}
      rpm: 1000000
      tpm: 1000000000
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
  await client.close();
});

async function serve(n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        const res = await request(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          dispatcher: client,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `distinct prompt ${i} ${Math.random()}` }] }),
        });
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      }
    }),
  );
}

/** The shape of a read: its lines (metrics) or keys (status), numbers blanked. */
async function shapes(): Promise<{ metrics: string[]; status: string }> {
  const metrics = (await (await fetch(`${gw.url}/metrics`)).text())
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('nodejs_') && !l.startsWith('process_'));
  const status = JSON.stringify(await (await fetch(`${gw.url}/v1/router/status`)).json()).replace(/-?\d+(\.\d+)?/g, '0');
  return { metrics: metrics.map((l) => l.replace(/ \S+$/, '')), status };
}

test('after 300 and 900 requests the status document and the metrics series are the same size', { timeout: 120_000 }, async () => {
  await serve(300);
  const early = await shapes();
  await serve(600);
  const late = await shapes();
  assert.equal(late.status, early.status);
  assert.equal(late.metrics.length, early.metrics.length, 'series were added by later requests');
  assert.deepEqual(late.metrics, early.metrics);
  // 200 invented models keep their names; the rest are counted together.
  const models = new Set(late.metrics.filter((l) => l.startsWith('flowrouter_tokens_total')).map((l) => /model="([^"]*)"/.exec(l)?.[1]));
  assert.equal(models.size, 201);
  assert.ok(models.has('other'));
  const status = (await (await fetch(`${gw.url}/v1/router/status`)).json()) as { targets: { requests: number; limits: { requests_last_minute: number } }[] };
  assert.equal(status.targets[0].requests, 900);
  assert.equal(status.targets[0].limits.requests_last_minute, 900);
});
