// The response cache seen from a client: hit/miss/bypass headers, canonical keys, per-request controls and streaming replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;
let client: OpenAI;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-test
      url: ${fake.url}
  short:
    strategy: priority
    cache_ttl_s: 0
    targets:
      - model: gpt-4o-mini
        provider: openai
        key: sk-test
        url: ${fake.url}
`);
  client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await fake.close();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, cache: res.headers.get('x-flowrouter-cache'), target: res.headers.get('x-flowrouter-target'), body: (await res.json()) as any };
}

test('a repeated deterministic request is a miss, then a hit that never reaches the upstream', async () => {
  const body = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'cache me' }] };
  const first = await post(body);
  const calls = fake.requests.length;
  const second = await post(body);
  assert.equal(first.cache, 'miss');
  assert.equal(second.cache, 'hit');
  assert.equal(fake.requests.length, calls);
  assert.deepEqual(second.body.choices, first.body.choices);
  assert.equal(second.target, 'default/openai/gpt-4o-mini');
});

test('key order and insignificant whitespace do not split the key', async () => {
  await post({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'order   and\n\n\n\nspace' }] });
  const again = await post({ messages: [{ content: 'order and\n\nspace  ', role: 'user' }], temperature: 0, model: 'gpt-4o-mini' });
  assert.equal(again.cache, 'hit');
  const different = await post({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'order and space!' }] });
  assert.equal(different.cache, 'miss');
});

test('a request without temperature (provider default 1) bypasses the cache unless it asks for a ttl', async () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'creative' }] };
  assert.equal((await post(body)).cache, 'bypass');
  assert.equal((await post(body)).cache, 'bypass');
  assert.equal((await post({ ...body, temperature: 0.7 })).cache, 'bypass');
  assert.equal((await post(body, { 'x-flowrouter-cache-ttl': '600' })).cache, 'miss');
  assert.equal((await post(body, { 'cache-control': 'max-age=600' })).cache, 'hit');
});

test('no-cache skips the lookup and refreshes; no-store neither reads nor writes; the body field works too', async () => {
  const body = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'controls' }] };
  assert.equal((await post(body)).cache, 'miss');
  const calls = fake.requests.length;
  assert.equal((await post(body, { 'cache-control': 'no-cache' })).cache, 'bypass');
  assert.equal(fake.requests.length, calls + 1);
  assert.equal((await post({ ...body, flowrouter: { cache: 'no-cache' } })).cache, 'bypass');
  assert.equal((await post(body)).cache, 'hit');
  const fresh = { ...body, messages: [{ role: 'user', content: 'never stored' }] };
  assert.equal((await post(fresh, { 'cache-control': 'no-store' })).cache, 'bypass');
  assert.equal((await post(fresh)).cache, 'miss');
  const viaField = { ...body, messages: [{ role: 'user', content: 'ttl in body' }], temperature: 1, flowrouter: { cache: { ttl: 60 } } };
  assert.equal((await post(viaField)).cache, 'miss');
  assert.equal((await post(viaField)).cache, 'hit');
});

test('a chain with cache_ttl_s: 0 stores nothing', async () => {
  const body = { model: 'short', temperature: 0, messages: [{ role: 'user', content: 'short ttl' }] };
  await post(body);
  assert.equal((await post(body)).cache, 'miss');
});

test('a cached answer to a streaming request replays as SSE through the openai SDK, with usage when asked', async () => {
  const messages = [{ role: 'user' as const, content: 'stream me' }];
  await client.chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages });
  const calls = fake.requests.length;
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', temperature: 0, messages, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(response.headers.get('x-flowrouter-cache'), 'hit');
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  let text = '';
  let finish: string | null = null;
  let usage: unknown = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'echo: stream me');
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  assert.equal(fake.requests.length, calls);
});

test('a streamed miss is cached once complete, and served to a later non-streaming request', async () => {
  const messages = [{ role: 'user' as const, content: 'streamed first' }];
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  const again = await post({ model: 'gpt-4o-mini', temperature: 0, messages });
  assert.equal(again.cache, 'hit');
  assert.equal(again.body.choices[0].message.content, text);
  assert.equal(again.body.usage.completion_tokens, 3);
});

test('a stream that breaks mid-way is not cached', async () => {
  fake.handler = (req, res) => {
    if (req.body.messages?.[0]?.content !== 'broken stream') return false;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'part' }, finish_reason: null }] })}\n\n`,
    );
    res.destroy();
    return true;
  };
  try {
    const body = { model: 'gpt-4o-mini', temperature: 0, stream: true, messages: [{ role: 'user', content: 'broken stream' }] };
    await (await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify(body) })).text();
    fake.handler = null;
    const next = await post({ ...body, stream: false });
    assert.equal(next.cache, 'miss');
    assert.equal(next.body.choices[0].message.content, 'echo: broken stream');
  } finally {
    fake.handler = null;
  }
});

test("entries are per client by default: one tenant is never answered from another one's cache", async () => {
  const a = gw.node.tenancy.keys.create('cache-client-a').key;
  const b = gw.node.tenancy.keys.create('cache-client-b').key;
  const body = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'per-client cache scope' }] };
  assert.equal((await post(body, { authorization: `Bearer ${a}` })).cache, 'miss');
  assert.equal((await post(body, { authorization: `Bearer ${a}` })).cache, 'hit');
  assert.equal((await post(body, { authorization: `Bearer ${b}` })).cache, 'miss');
});
