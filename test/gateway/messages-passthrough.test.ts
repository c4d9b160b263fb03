// POST /v1/messages passed through to Anthropic, as deployed: the Anthropic SDK and raw HTTP against the real server,
// a wire-faithful Anthropic fake behind it. What the gateway does not model survives both ways; the layers still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { fakeSignature, messageEvents, startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { postSse } from './sse.ts';

let an: FakeAnthropic;
let oa: FakeOpenAI;
let gw: TestNode;
let client: Anthropic;
let reply: (body: any) => FakeReply = () => textReply('ok');

const UPSTREAM = 'claude-sonnet-4-5-20250929';

before(async () => {
  an = await startFakeAnthropic((req) => reply(req.body));
  oa = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  claude:
    - { model: ${UPSTREAM}, provider: anthropic, key: sk-ant-test-000000, url: "${an.url}", name: claude }
  flaky:
    - { model: ${UPSTREAM}, provider: anthropic, key: sk-ant-test-000000, url: "${an.url}", name: claude-first }
    - { model: vendor-model, provider: local, url: "${oa.url}", name: local-second }
  openai-then-claude:
    - { model: vendor-model, provider: local, url: "${oa.url}", name: local-first }
    - { model: ${UPSTREAM}, provider: anthropic, key: sk-ant-test-000000, url: "${an.url}", name: claude-second }
  local:
    - { model: vendor-model, provider: local, url: "${oa.url}" }
`);
  client = new Anthropic({ apiKey: 'any', baseURL: gw.url, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([an.close(), oa.close()]);
});

const webSearch = { type: 'web_search_20250305', name: 'web_search', max_uses: 2 };

test("the client's body reaches Anthropic as sent but for the model: new fields, beta fields with their flag, server tools, cache_control", async () => {
  reply = () => textReply('passed');
  const body = {
    model: 'claude',
    max_tokens: 300,
    service_tier: 'auto',
    speed: 'standard',
    cache_control: { type: 'ephemeral' },
    context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    tools: [webSearch, { name: 'lookup', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Search the news.', cache_control: { type: 'ephemeral' } }] }],
  };
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-beta': 'context-management-2025-06-27' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-flowrouter-passthrough'), 'true');
  const sent = an.requests.at(-1)!;
  assert.deepEqual(sent.body, { ...body, model: UPSTREAM });
  assert.equal(sent.headers['anthropic-beta'], 'context-management-2025-06-27');
  assert.equal(sent.headers['x-api-key'], 'sk-ant-test-000000');
});

test("Anthropic's answer comes back untranslated: blocks and usage fields the gateway does not model survive", async () => {
  reply = () => ({
    message: {
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'news' } },
        {
          type: 'web_search_tool_result',
          tool_use_id: 'srvtoolu_1',
          content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Ex', encrypted_content: 'abc' }],
        },
        {
          type: 'text',
          text: 'Here it is.',
          citations: [{ type: 'web_search_result_location', url: 'https://example.com', cited_text: 'x', encrypted_index: 'e', title: 'Ex' }],
        },
      ],
      usage: { input_tokens: 20, output_tokens: 5, server_tool_use: { web_search_requests: 1 } } as any,
    },
  });
  const m = await client.messages.create({ model: 'claude', max_tokens: 300, tools: [webSearch as any], messages: [{ role: 'user', content: 'news?' }] });
  assert.deepEqual(
    m.content.map((b) => b.type),
    ['server_tool_use', 'web_search_tool_result', 'text'],
  );
  assert.equal((m.content[2] as Anthropic.TextBlock).citations?.[0].type, 'web_search_result_location');
  assert.deepEqual((m.usage as any).server_tool_use, { web_search_requests: 1 });
  assert.equal(m.id, 'msg_fake_' + m.id.split('_').at(-1), "the upstream's own id");
});

test("golden: a passed-through stream is the upstream's own events, byte for byte, unknown ones included", async () => {
  const message = {
    id: 'msg_stream',
    type: 'message',
    role: 'assistant',
    model: UPSTREAM,
    content: [
      { type: 'thinking', thinking: 'Let me see.' },
      { type: 'text', text: 'Hello there' },
    ],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 11, output_tokens: 6, cache_creation_input_tokens: 100, cache_read_input_tokens: 900 },
  };
  const events = messageEvents({
    ...message,
    content: message.content.map((b) => (b.type === 'thinking' ? { ...b, signature: fakeSignature('Let me see.') } : b)),
  } as any);
  // An event type added after this gateway was written, between two blocks.
  events.splice(
    events.findIndex((e) => e.event === 'content_block_start' && (e.data as any).index === 1),
    0,
    { event: 'content_block_annotation', data: { type: 'content_block_annotation', index: 0, note: 'new' } },
  );
  reply = () => ({ events });
  const r = await postSse(`${gw.url}/v1/messages`, {
    model: 'claude',
    max_tokens: 2000,
    stream: true,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(r.headers.get('x-flowrouter-passthrough'), 'true');
  assert.deepEqual(
    r.events.map((e) => ({ event: e.event, data: e.json })),
    events,
  );
  assert.deepEqual(
    r.events.map((e) => e.data),
    events.map((e) => JSON.stringify(e.data)),
    'the same bytes',
  );
  gw.node.usage.flush();
  const row = gw.node.db
    .prepare('SELECT prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens FROM usage_ledger WHERE request_id = ?')
    .get(r.headers.get('x-request-id')) as any;
  assert.deepEqual(row, { prompt_tokens: 1011, cached_tokens: 900, cache_write_tokens: 100, completion_tokens: 6 }, 'the layers read the internal shape');
});

test("signed thinking round-trips through the gateway to Anthropic; foreign thinking (unsigned, or Flow Router's token) is taken out", async () => {
  reply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'Use the tool.' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'a' } },
      ],
    },
  });
  const params = {
    model: 'claude',
    max_tokens: 3000,
    thinking: { type: 'enabled' as const, budget_tokens: 1024 },
    tools: [{ name: 'lookup', input_schema: { type: 'object' as const } }],
  };
  const first = await client.messages.stream({ ...params, messages: [{ role: 'user', content: 'go' }] }).finalMessage();
  assert.deepEqual(first.content[0], { type: 'thinking', thinking: 'Use the tool.', signature: fakeSignature('Use the tool.') });
  reply = () => textReply('done');
  const foreign = [
    { type: 'thinking', thinking: 'another model', signature: '' },
    { type: 'thinking', thinking: '', signature: 'flowrouter.v1.eyJnb29nbGVfY2FsbHMiOnt9fQ' },
  ];
  const history: any[] = [
    { role: 'user', content: 'earlier' },
    { role: 'assistant', content: [...foreign, { type: 'text', text: 'ok' }] },
    { role: 'user', content: 'go' },
    { role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' }] },
  ];
  const second = await client.messages.create({ ...params, messages: history });
  assert.equal((second.content[0] as Anthropic.TextBlock).text, 'done');
  const sent = an.requests.at(-1)!.body.messages;
  assert.deepEqual(sent[1].content, [{ type: 'text', text: 'ok' }]);
  assert.deepEqual(sent[3].content[0], first.content[0]);
});

test('a server tool is left out of a translated request, and the answer names what was left out; the cache is bypassed', async () => {
  oa.handler = null;
  const history: any[] = [
    { role: 'user', content: 'news' },
    {
      role: 'assistant',
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'news' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
        { type: 'text', text: 'Nothing new.' },
      ],
    },
    { role: 'user', content: 'thanks' },
  ];
  const { data, response } = (await client.messages
    .create({ model: 'local', max_tokens: 100, temperature: 0, tools: [webSearch as any], messages: history } as any)
    .withResponse()) as any;
  assert.equal((data.content[0] as Anthropic.TextBlock).text, 'echo: thanks');
  assert.equal(
    response.headers.get('x-flowrouter-left-out'),
    'tools.0 (web_search_20250305), messages.1.content.0 (server_tool_use), messages.1.content.1 (web_search_tool_result)',
  );
  assert.equal(response.headers.get('x-flowrouter-cache'), 'bypass', 'the internal request lacks the server tool: never keyed in the cache');
  const sent = oa.requests.at(-1)!.body;
  assert.equal(sent.tools, undefined);
  assert.deepEqual(sent.messages[1], { role: 'assistant', content: 'Nothing new.' });
});

test("a request only Anthropic serves (its own client tools, container) skips other targets, and is refused in Anthropic's shape where no Anthropic target is", async () => {
  reply = () => textReply('ran bash');
  const bash = { type: 'bash_20250124', name: 'bash' };
  const calls = oa.requests.length;
  const { data, response } = (await client.messages
    .create({ model: 'openai-then-claude', max_tokens: 100, temperature: 0, tools: [bash as any], messages: [{ role: 'user', content: 'ls' }] } as any)
    .withResponse()) as any;
  assert.equal((data.content[0] as Anthropic.TextBlock).text, 'ran bash');
  assert.equal(response.headers.get('x-flowrouter-target'), 'claude-second');
  assert.equal(response.headers.get('x-flowrouter-attempts'), '2');
  assert.equal(response.headers.get('x-flowrouter-cache'), 'bypass');
  assert.equal(oa.requests.length, calls, 'the OpenAI-format target was never called');
  await assert.rejects(
    client.messages.create({ model: 'local', max_tokens: 100, tools: [bash as any], messages: [{ role: 'user', content: 'ls' }] }),
    (e: any) =>
      e instanceof Anthropic.BadRequestError
      && (e as any).error.error.type === 'invalid_request_error'
      && /^tools\.0\.type/.test((e as any).error.error.message),
  );
  await assert.rejects(
    client.messages.create({ model: 'local', max_tokens: 100, container: 'container_1', messages: [{ role: 'user', content: 'x' }] } as any),
    (e: any) => e.status === 400 && /^container/.test((e as any).error.error.message),
  );
  await assert.rejects(
    client.messages.create({
      model: 'local',
      max_tokens: 100,
      tools: [webSearch as any],
      tool_choice: { type: 'tool', name: 'web_search' },
      messages: [{ role: 'user', content: 'x' }],
    }),
    (e: any) => e.status === 400 && /^tool_choice\.name/.test((e as any).error.error.message),
    'forcing a server tool cannot be honoured elsewhere',
  );
});

test('an Anthropic target that fails falls back to an OpenAI-format one: the same client then gets the translated stream', async () => {
  reply = () => ({ status: 529, errorType: 'overloaded_error', errorMessage: 'Overloaded' });
  const r = await postSse(`${gw.url}/v1/messages`, { model: 'flaky', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.headers.get('x-flowrouter-target'), 'local-second');
  assert.equal(r.headers.get('x-flowrouter-passthrough'), null);
  assert.deepEqual(
    r.events.map((e) => e.event),
    [
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ],
  );
});

test('a passed-through answer is cached in the internal shape: a chat client and a later Messages client are served from it', async () => {
  reply = () => textReply('worth keeping', { usage: { input_tokens: 8, output_tokens: 3 } });
  const body = { model: 'claude', max_tokens: 40, temperature: 0, messages: [{ role: 'user' as const, content: 'remember this' }] };
  const first = await client.messages.create(body).withResponse();
  assert.equal(first.response.headers.get('x-flowrouter-passthrough'), 'true');
  const calls = an.requests.length;
  const chat = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
  const viaChat = await chat.chat.completions
    .create({ model: 'claude', max_completion_tokens: 40, temperature: 0, messages: [{ role: 'user', content: 'remember this' }] })
    .withResponse();
  assert.equal(viaChat.response.headers.get('x-flowrouter-cache'), 'hit');
  assert.equal(viaChat.data.choices[0].message.content, 'worth keeping');
  const again = await client.messages.stream(body).finalMessage();
  assert.deepEqual(again.content, [{ type: 'text', text: 'worth keeping' }]);
  assert.equal(an.requests.length, calls);
});

test("count_tokens is exact from the Anthropic target, with the client's body passed through (server tools and all)", async () => {
  const params = { model: 'claude', tools: [webSearch as any], messages: [{ role: 'user' as const, content: 'How long is this?' }] };
  const { data, response } = await client.messages.countTokens(params).withResponse();
  assert.equal(response.headers.get('x-flowrouter-token-count'), 'exact');
  const sent = an.requests.at(-1)!;
  assert.equal(sent.path, '/v1/messages/count_tokens');
  assert.deepEqual(sent.body, { ...params, model: UPSTREAM });
  assert.equal(data.input_tokens, Math.ceil(JSON.stringify(params.messages).length / 4));
});

test('count_tokens falls back to the estimate when the Anthropic target cannot be reached', async () => {
  const down = await startTestNode(
    `chains:\n  claude:\n    - { model: ${UPSTREAM}, provider: anthropic, key: sk-ant-test-000000, url: "http://127.0.0.1:9/v1" }\n`,
  );
  try {
    const c = new Anthropic({ apiKey: 'any', baseURL: down.url, maxRetries: 0 });
    const { data, response } = await c.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'How long is this?' }] }).withResponse();
    assert.equal(response.headers.get('x-flowrouter-token-count'), 'estimate');
    assert.ok(data.input_tokens > 0);
  } finally {
    await down.stop();
  }
});
