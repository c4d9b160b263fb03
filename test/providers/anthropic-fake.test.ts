// The fake Anthropic server refuses what the real Messages API refuses, so translation tests against it mean something.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeSignature, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic.ts';

let fake: FakeAnthropic;
before(async () => {
  fake = await startFakeAnthropic();
});
after(() => fake.close());

const HEADERS = { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const valid = { model: 'claude-3-5-sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
const useThenResult = (resultIds: string[]) => [
  { role: 'user', content: 'q' },
  { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
  { role: 'user', content: resultIds.map((id) => ({ type: 'tool_result', tool_use_id: id, content: 'r' })) },
];

async function post(body: unknown, headers: Record<string, string> = HEADERS) {
  const res = await fetch(`${fake.url}/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { type: string; error?: { type: string; message: string }; content?: unknown } };
}

const cases: { name: string; body?: Record<string, unknown>; headers?: Record<string, string>; status?: number; match: RegExp }[] = [
  { name: 'missing max_tokens', body: { ...valid, max_tokens: undefined }, match: /max_tokens: Field required/ },
  {
    name: 'missing x-api-key (401 authentication_error, as the real API)',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    status: 401,
    match: /x-api-key/,
  },
  { name: 'missing anthropic-version', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, match: /anthropic-version/ },
  {
    name: 'a system role inside messages',
    body: {
      ...valid,
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'hi' },
      ],
    },
    match: /messages\.0\.role/,
  },
  { name: 'first message not user', body: { ...valid, messages: [{ role: 'assistant', content: 'a' }] }, match: /first message/ },
  {
    name: 'non-alternating roles',
    body: {
      ...valid,
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
    },
    match: /alternate/,
  },
  {
    name: 'a tool_result without a matching tool_use',
    body: { ...valid, messages: useThenResult(['toolu_1', 'toolu_x']) },
    match: /unexpected `tool_use_id`.*toolu_x/,
  },
  { name: 'duplicate tool_result ids', body: { ...valid, messages: useThenResult(['toolu_1', 'toolu_1']) }, match: /duplicates: toolu_1/ },
  {
    name: 'a tool_use left without tool_result',
    body: {
      ...valid,
      messages: useThenResult([])
        .slice(0, 2)
        .concat([{ role: 'user', content: 'next' }]),
    },
    match: /without `tool_result`/,
  },
  { name: 'temperature above 1', body: { ...valid, temperature: 1.2 }, match: /temperature/ },
  { name: 'an unknown top-level field', body: { ...valid, seed: 1 }, match: /seed: Extra inputs/ },
  { name: 'tool_choice without tools', body: { ...valid, tool_choice: { type: 'auto' } }, match: /tool_choice/ },
  { name: 'an empty text block', body: { ...valid, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, match: /non-empty/ },
  {
    name: 'a thinking block without its signature',
    body: { ...valid, messages: thinkingTurn({ type: 'thinking', thinking: 'hm' }) },
    match: /messages\.1\.content\.0\.thinking\.signature: Field required/,
  },
  {
    name: 'a thinking block whose signature does not match its text',
    body: { ...valid, messages: thinkingTurn({ type: 'thinking', thinking: 'changed', signature: fakeSignature('hm') }) },
    match: /Invalid `signature`/,
  },
  {
    name: 'a base64 document that is not a PDF',
    body: { ...valid, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'image/png', data: 'x' } }] }] },
    match: /document\.source\.base64\.media_type/,
  },
  {
    name: 'a document with an unknown source type',
    body: { ...valid, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'f' } }] }] },
    match: /does not match any of the expected tags/,
  },
  {
    name: 'five cache breakpoints',
    body: {
      ...valid,
      messages: [{ role: 'user', content: Array.from({ length: 5 }, (_, k) => ({ type: 'text', text: `t${k}`, cache_control: { type: 'ephemeral' } })) }],
    },
    match: /maximum of 4 blocks with cache_control/,
  },
  {
    name: 'a malformed cache_control',
    body: { ...valid, messages: [{ role: 'user', content: [{ type: 'text', text: 't', cache_control: { type: 'persistent' } }] }] },
    match: /cache_control/,
  },
  {
    name: 'temperature other than 1 with thinking on',
    body: { ...valid, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0.5 },
    match: /temperature. may only be set to 1/,
  },
  {
    name: 'a thinking budget not below max_tokens',
    body: { ...valid, thinking: { type: 'enabled', budget_tokens: 1024 } },
    match: /max_tokens. must be greater/,
  },
  {
    name: 'a forced tool choice with thinking on',
    body: {
      ...valid,
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
    },
    match: /forces tool use/,
  },
  {
    name: 'a tool turn answered without its thinking while thinking is on',
    body: { ...valid, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: useThenResult(['toolu_1']) },
    match: /Expected `thinking` or `redacted_thinking`, but found `tool_use`/,
  },
];

function thinkingTurn(block: Record<string, unknown>) {
  return [
    { role: 'user', content: 'q' },
    { role: 'assistant', content: [block, { type: 'text', text: 'a' }] },
    { role: 'user', content: 'next' },
  ];
}

for (const c of cases) {
  test(`fake anthropic: rejects ${c.name}`, async () => {
    const { status, json } = await post(c.body ?? valid, c.headers ?? HEADERS);
    assert.equal(status, c.status ?? 400);
    assert.equal(json.type, 'error');
    assert.equal(json.error?.type, (c.status ?? 400) === 400 ? 'invalid_request_error' : 'authentication_error');
    assert.match(json.error!.message, c.match);
  });
}

test('fake anthropic: a valid request gets the default scripted message', async () => {
  const { status, json } = await post(valid);
  assert.equal(status, 200);
  assert.equal(json.type, 'message');
  assert.deepEqual(json.content, [{ type: 'text', text: 'Hello from the fake Anthropic server.' }]);
});

test('fake anthropic: a thinking block it signed is accepted back, and a tool turn that starts with it passes with thinking on', async () => {
  const messages = [
    { role: 'user', content: 'q' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'hm', signature: fakeSignature('hm') },
        { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'r' }] },
  ];
  const { status } = await post({
    ...valid,
    max_tokens: 4000,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [{ name: 'f', input_schema: { type: 'object' } }],
    messages,
  });
  assert.equal(status, 200);
});

test('fake anthropic: count_tokens answers input_tokens and refuses max_tokens', async () => {
  const ok = await fetch(`${fake.url}/messages/count_tokens`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.ok(((await ok.json()) as { input_tokens: number }).input_tokens > 0);
  const bad = await fetch(`${fake.url}/messages/count_tokens`, { method: 'POST', headers: HEADERS, body: JSON.stringify(valid) });
  assert.equal(bad.status, 400);
});
