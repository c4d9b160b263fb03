// The token saver's switches: normalization reaches the upstream (or not, when off) and a disabled cache always bypasses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let on: TestNode;
let off: TestNode;

const chain = (url: string) => `chains:\n  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-test\n      url: ${url}\n`;

before(async () => {
  fake = await startFakeOpenAI();
  on = await startTestNode(chain(fake.url));
  off = await startTestNode(`${chain(fake.url)}normalize:\n  enabled: false\ncache:\n  enabled: false\n`);
});

after(async () => {
  await on.stop();
  await off.stop();
  await fake.close();
});

const messy = 'Please   summarise:\n\n\n\n```\nkeep   this\n```\n    and   this';

async function send(gw: TestNode, body: Record<string, unknown>) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  await res.text();
  return res.headers;
}

test('the upstream receives the normalized prompt, and the response says how many tokens that saved', async () => {
  const headers = await send(on, { messages: [{ role: 'user', content: messy }] });
  assert.equal(fake.requests.at(-1)!.body.messages[0].content, 'Please summarise:\n\n```\nkeep   this\n```\n    and   this');
  assert.ok(Number(headers.get('x-flowrouter-tokens-saved')) > 0);
});

test('with normalize.enabled: false the prompt goes upstream byte for byte', async () => {
  const headers = await send(off, { messages: [{ role: 'user', content: messy }] });
  assert.equal(fake.requests.at(-1)!.body.messages[0].content, messy);
  assert.equal(headers.get('x-flowrouter-tokens-saved'), null);
});

test('with cache.enabled: false even a deterministic repeat bypasses the cache', async () => {
  const body = { temperature: 0, messages: [{ role: 'user', content: 'same' }] };
  assert.equal((await send(off, body)).get('x-flowrouter-cache'), 'bypass');
  assert.equal((await send(off, body)).get('x-flowrouter-cache'), 'bypass');
});
