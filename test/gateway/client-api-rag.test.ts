// The pipeline's prompt layers for the Messages and Responses APIs, as deployed: RAG passages reach every target
// (translated, or added to the passed-through body's system text), and these clients' bytes are not normalized.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../fakes/anthropic.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let an: FakeAnthropic;
let oa: FakeOpenAI;
let gw: TestNode;
const rag = { 'x-flowrouter-rag': 'handbook' };

before(async () => {
  an = await startFakeAnthropic(() => textReply('noted'));
  oa = await startFakeOpenAI(null, { auth: 'openai' });
  gw = await startTestNode(`
chains:
  claude:
    - { model: claude-sonnet-4-20250514, provider: anthropic, key: sk-ant-test-000000, url: "${an.url}" }
  chat:
    - { model: gpt-5, provider: openai, key: sk-test-0123456789abcdef, url: "${oa.url}" }
  native:
    - { model: gpt-5, provider: openai, key: sk-test-0123456789abcdef, url: "${oa.url}", api: responses }
`);
  const res = await fetch(`${gw.baseURL}/kb/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'vacation', collection: 'handbook', title: 'Vacation policy', text: 'Employees receive 30 vacation days per year.' }),
  });
  assert.ok(res.ok, await res.text());
});

after(async () => {
  await gw.stop();
  await Promise.all([an.close(), oa.close()]);
});

test('RAG on a Messages request translated for an OpenAI target: the passages arrive as a system message', async () => {
  const client = new Anthropic({ apiKey: 'any', baseURL: gw.url, maxRetries: 0, defaultHeaders: rag });
  const { response } = await client.messages
    .create({ model: 'chat', max_tokens: 20, messages: [{ role: 'user', content: 'How many vacation days?' }] })
    .withResponse();
  assert.equal(response.headers.get('x-flowrouter-sources'), 'vacation#0');
  const sent = oa.requests.at(-1)!.body.messages;
  assert.equal(sent[0].role, 'system');
  assert.match(sent[0].content, /30 vacation days/);
});

test("RAG on a passed-through Messages request: the passages follow the client's own system blocks, which keep their cache breakpoint", async () => {
  const client = new Anthropic({ apiKey: 'any', baseURL: gw.url, maxRetries: 0, defaultHeaders: rag });
  const system = [{ type: 'text' as const, text: 'You are HR.', cache_control: { type: 'ephemeral' as const } }];
  const { response } = await client.messages
    .create({ model: 'claude', max_tokens: 20, system, messages: [{ role: 'user', content: 'How many vacation days?' }] })
    .withResponse();
  assert.equal(response.headers.get('x-flowrouter-passthrough'), 'true');
  const sent = an.requests.at(-1)!.body;
  assert.deepEqual(sent.system[0], system[0]);
  assert.match(sent.system[1].text, /<knowledge-context>[\s\S]*30 vacation days/);
  assert.deepEqual(sent.messages, [{ role: 'user', content: 'How many vacation days?' }], 'the conversation as the client sent it');
});

test("RAG on a passed-through Responses request: the passages follow the client's instructions", async () => {
  const client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0, defaultHeaders: rag });
  await client.responses.create({ model: 'native', instructions: 'You are HR.', input: 'How many vacation days?' });
  const sent = oa.requests.at(-1)!.body;
  assert.match(sent.instructions, /^You are HR\.\n\n<knowledge-context>[\s\S]*30 vacation days/);
  assert.equal(sent.input, 'How many vacation days?');
});

test('Messages and Responses clients keep their bytes: normalization applies to Chat Completions clients only', async () => {
  const untidy = 'Keep   these    spaces.\n\n\n\nAnd lines.   ';
  const chat = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
  const viaChat = await chat.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: untidy }] }).withResponse();
  assert.ok(Number(viaChat.response.headers.get('x-flowrouter-tokens-saved')) > 0);
  assert.equal(an.requests.at(-1)!.body.messages[0].content, 'Keep these spaces.\n\nAnd lines.');
  const anthropic = new Anthropic({ apiKey: 'any', baseURL: gw.url, maxRetries: 0 });
  const viaMessages = await anthropic.messages.create({ model: 'claude', max_tokens: 20, messages: [{ role: 'user', content: untidy }] }).withResponse();
  assert.equal(viaMessages.response.headers.get('x-flowrouter-tokens-saved'), null);
  assert.equal(an.requests.at(-1)!.body.messages[0].content, untidy);
  await chat.responses.create({ model: 'chat', input: untidy });
  assert.equal(oa.requests.at(-1)!.body.messages[0].content, untidy);
});
