// An upstream's retry-after reaches the client at most an hour long, whichever form (seconds, HTTP date, -ms) it came in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { retryAfterMs, MAX_RETRY_AFTER_MS } from '../../src/providers/classify.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  default:
    - model: gpt-4
      provider: openai
      key: sk-test-0000000000000000
      url: ${fake.url}
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

async function throttledWith(headers: Record<string, string>): Promise<Response> {
  fake.handler = (_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }));
    return true;
  };
  try {
    return await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
    });
  } finally {
    fake.handler = null;
  }
}

for (const [form, headers] of [
  ['seconds', { 'retry-after': '99999999999' }],
  ['an HTTP date far ahead', { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' }],
  ['retry-after-ms', { 'retry-after-ms': '99999999999999' }],
] as const) {
  test(`an upstream retry-after given as ${form} is passed to the client clamped to 3600 s`, async () => {
    const res = await throttledWith(headers);
    assert.equal(res.status, 429, await res.clone().text());
    assert.equal(res.headers.get('retry-after'), '3600');
    await res.text();
  });
}

test('a reasonable upstream retry-after is passed on unchanged', async () => {
  const res = await throttledWith({ 'retry-after': '42' });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '42');
  await res.text();
});

test('retryAfterMs never returns more than an hour or less than zero', () => {
  assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
  assert.equal(retryAfterMs({ 'retry-after': '1e300' }), MAX_RETRY_AFTER_MS);
  assert.equal(retryAfterMs({ 'retry-after': '-5' }), 0);
  assert.equal(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' }), 0);
});
