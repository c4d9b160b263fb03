// Knowledge through the gateway: RAG on request or per chain, sources listed, and the offline knowledge target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  default:
    - model: m
      provider: local
      url: ${fake.url}
  docs:
    strategy: priority
    rag: { collection: handbook, top_k: 2 }
    targets:
      - model: m
        provider: local
        url: ${fake.url}
  offline:
    - model: m
      provider: local
      url: http://127.0.0.1:9/v1
    - provider: knowledge
      collection: handbook
  anywhere:
    - model: m
      provider: local
      url: http://127.0.0.1:9/v1
    - provider: knowledge
`);
  const res = await fetch(`${gw.baseURL}/kb/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      documents: [
        {
          id: 'vacation',
          collection: 'handbook',
          title: 'Vacation policy',
          text: 'Employees receive 30 vacation days per year. Unused days carry over until March.',
        },
        { id: 'laptops', collection: 'handbook', title: 'Laptops', text: 'Every engineer gets a laptop refresh every three years.' },
        { id: 'boiler', collection: 'plant', title: 'Boiler', text: 'The boiler is descaled every spring by the maintenance crew.' },
      ],
    }),
  });
  assert.ok(res.ok, await res.text());
});

after(async () => {
  await gw.stop();
  await fake.close();
});

test('RAG is off unless asked: a plain request is sent unchanged', async () => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'How many vacation days?' }] }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-sources'), null);
  assert.equal(fake.requests.at(-1)!.body.messages.length, 1);
});

test('x-flowrouter-rag injects the passages after the system prompt and lists the sources', async () => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-flowrouter-rag': 'handbook' },
    body: JSON.stringify({
      model: 'default',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'How many vacation days do employees get?' },
      ],
    }),
  });
  const body = (await res.json()) as { flowrouter_sources: { doc_id: string }[] };
  assert.equal(res.status, 200);
  assert.match(res.headers.get('x-flowrouter-sources') ?? '', /vacation/);
  assert.equal(body.flowrouter_sources[0].doc_id, 'vacation');
  const sent = fake.requests.at(-1)!.body.messages;
  assert.deepEqual(
    sent.map((m: { role: string }) => m.role),
    ['system', 'system', 'user'],
  );
  assert.equal(sent[0].content, 'Be brief.');
  assert.match(sent[1].content, /<knowledge-context>[\s\S]*30 vacation days[\s\S]*<\/knowledge-context>/);
});

test('a chain with rag: retrieves for every request, and the OpenAI SDK ignores the extra field', async () => {
  const client = new OpenAI({ apiKey: 'x', baseURL: gw.baseURL, maxRetries: 0 });
  const res = await client.chat.completions.create({ model: 'docs', messages: [{ role: 'user', content: 'laptop refresh' }] });
  assert.match(res.choices[0].message.content ?? '', /^echo: laptop refresh/);
  assert.match(JSON.stringify(fake.requests.at(-1)!.body.messages), /three years/);
});

test('the knowledge target answers when no model is reachable, streaming too', async () => {
  const client = new OpenAI({ apiKey: 'x', baseURL: gw.baseURL, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({ model: 'offline', messages: [{ role: 'user', content: 'vacation days per year' }] })
    .withResponse();
  assert.match(data.choices[0].message.content ?? '', /30 vacation days/);
  assert.match(data.choices[0].message.content ?? '', /Sources: /);
  assert.equal(response.headers.get('x-flowrouter-target'), 'offline/knowledge/handbook');
  const stream = await client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: 'laptop' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.match(text, /laptop refresh every three years/);
});

test('a knowledge target without a collection answers from every collection', async () => {
  const client = new OpenAI({ apiKey: 'x', baseURL: gw.baseURL, maxRetries: 0 });
  for (const [question, answer] of [
    ['vacation days per year', /30 vacation days/],
    ['boiler descaled', /every spring/],
  ] as const) {
    const { data, response } = await client.chat.completions.create({ model: 'anywhere', messages: [{ role: 'user', content: question }] }).withResponse();
    assert.match(data.choices[0].message.content ?? '', answer);
    assert.equal(response.headers.get('x-flowrouter-target'), 'anywhere/knowledge');
  }
  // The target with a collection stays inside it.
  const inside = await client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: 'boiler descaled' }] });
  assert.doesNotMatch(inside.choices[0].message.content ?? '', /every spring/);
});
