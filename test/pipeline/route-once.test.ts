// The route is chosen once per request and every layer acts for that chain: RAG's added context can no longer push a
// request over a token-size rule into a chain whose target then answers for a context it never asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let node: TestNode;

before(async () => {
  fake = await startFakeOpenAI();
  node = await startTestNode(`
chains:
  small:
    targets:
      - { provider: openai, name: small-model, model: gpt-4o-mini, key: sk-route-once-000000000000, url: "${fake.url}" }
    rag: { collection: handbook, token_budget: 1500 }
  big:
    - { provider: openai, name: big-model, model: gpt-4o, key: sk-route-once-000000000000, url: "${fake.url}" }
routes:
  - { name: long-prompts, chain: big, match: { min_prompt_tokens: 200 } }
  - { name: everything-else, chain: small, match: {} }
`);
  node.node.knowledge!.put({
    id: 'leave',
    collection: 'handbook',
    title: 'Leave',
    text: `Paid leave policy. ${'Employees accrue paid leave every month of service. '.repeat(40)}`,
  });
});

after(async () => {
  await node.stop();
  await fake.close();
});

test('RAG, the cache and the router act for the one chain chosen before the prompt grew', async () => {
  const res = await fetch(`${node.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', temperature: 0, messages: [{ role: 'user', content: 'What is the paid leave policy?' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-flowrouter-chain'), 'small');
  assert.equal(res.headers.get('x-flowrouter-target'), 'small-model');
  assert.match(res.headers.get('x-flowrouter-sources') ?? '', /^leave#/, "the small chain's RAG ran");
  const sent = fake.requests.at(-1)!.body as { model: string; messages: { content: string }[] };
  assert.equal(sent.model, 'gpt-4o-mini');
  assert.ok(JSON.stringify(sent.messages).length > 1500, 'the injected context made the prompt long');
  // The same request again is a cache hit of the same chain.
  const again = await fetch(`${node.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', temperature: 0, messages: [{ role: 'user', content: 'What is the paid leave policy?' }] }),
  });
  await again.text();
  assert.equal(again.headers.get('x-flowrouter-cache'), 'hit');
  assert.equal(again.headers.get('x-flowrouter-chain'), 'small');
});
