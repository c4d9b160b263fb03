// The anthropic provider end to end over the shared transport, against the wire-faithful fake Messages API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import { Transport, providers, type ChatResult, type ProviderAccount } from '../../src/providers/index.ts';
import { startFakeAnthropic, textReply, type FakeAnthropic, type FakeHandler, type FakeReply } from '../fakes/anthropic.ts';

const provider = providers.anthropic!;
const ctx = { model: 'claude-3-5-sonnet-20241022', id: 'chatcmpl-1', created: 1700000000 };
let fake: FakeAnthropic;
let handler: FakeHandler = () => textReply('hi');
let account: ProviderAccount;

before(async () => {
  fake = await startFakeAnthropic((r) => handler(r));
  account = {
    name: 'a',
    type: 'anthropic',
    baseUrl: fake.url,
    key: 'sk-ant-test',
    headers: {},
    timeouts: { connectMs: 2000, firstByteMs: 5000, totalMs: 10000 },
  };
});
const transport = new Transport();
after(async () => {
  await transport.stop();
  await fake.close();
});

const reply = (r: FakeReply) => {
  handler = () => r;
};
const chat = (over: Partial<ChatRequest>): ChatRequest => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...over });
async function collect(result: ChatResult): Promise<ChatChunk[]> {
  assert.equal(result.kind, 'stream');
  const out: ChatChunk[] = [];
  if (result.kind === 'stream') for await (const c of result.chunks) out.push(c);
  return out;
}
const text = (chunks: ChatChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

const toolConversation: ChatRequest['messages'] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Weather in Oslo and the time?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
      { id: 'toolu_2', type: 'function', function: { name: 'clock', arguments: '' } },
    ],
  },
  { role: 'tool', tool_call_id: 'toolu_2', content: '12:00' },
  { role: 'tool', tool_call_id: 'toolu_1', content: 'rain' },
  { role: 'system', content: 'Answer in English.' },
  { role: 'user', content: 'And tomorrow?' },
];
const tools: ChatRequest['tools'] = [
  { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'clock' } },
];

test('transport: a JSON chat reaches the fake with Anthropic headers and a valid body, and comes back as a chat completion', async () => {
  reply(textReply('Hello there', { usage: { input_tokens: 9, output_tokens: 2 } }));
  const before = fake.requests.length;
  const res = await transport.sendChat(provider, account, chat({ temperature: 1.5, stop: 'END', user: 'u1' }), ctx);
  assert.equal(res.kind, 'json');
  if (res.kind !== 'json') return;
  assert.equal(res.response.choices[0].message.content, 'Hello there');
  assert.equal(res.response.choices[0].finish_reason, 'stop');
  assert.deepEqual(res.response.usage, {
    prompt_tokens: 9,
    completion_tokens: 2,
    total_tokens: 11,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  });
  const sent = fake.requests[before];
  assert.equal(sent.path, '/v1/messages');
  assert.equal(sent.headers['x-api-key'], 'sk-ant-test');
  assert.equal(sent.headers['anthropic-version'], '2023-06-01');
  assert.equal(sent.body.model, 'claude-3-5-sonnet-20241022');
  assert.equal(sent.body.max_tokens, 8192);
  assert.equal(sent.body.temperature, 1);
});

test('transport: a tool conversation with results is accepted by the fake and a tool_use reply becomes tool_calls', async () => {
  reply({
    message: {
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_3', name: 'weather', input: { city: 'Oslo', day: 'tomorrow' } },
      ],
    },
  });
  const res = await transport.sendChat(provider, account, chat({ messages: toolConversation, tools, tool_choice: 'auto', parallel_tool_calls: false }), ctx);
  assert.equal(res.kind, 'json');
  if (res.kind !== 'json') return;
  assert.equal(res.response.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(res.response.choices[0].message.tool_calls, [
    { id: 'toolu_3', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo","day":"tomorrow"}' } },
  ]);
  const sent = fake.requests.at(-1)!.body;
  assert.equal(sent.system, 'Be brief.\n\nAnswer in English.');
  assert.deepEqual(sent.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
});

test('transport: a streamed text reply arrives as chunks with role, content, finish_reason and requested usage', async () => {
  reply(textReply('Streaming works', { usage: { input_tokens: 4, output_tokens: 3, cache_read_input_tokens: 2 } }));
  const chunks = await collect(await transport.sendChat(provider, account, chat({ stream: true, stream_options: { include_usage: true } }), ctx));
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(text(chunks), 'Streaming works');
  assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1)!.usage, {
    prompt_tokens: 6,
    completion_tokens: 3,
    total_tokens: 9,
    prompt_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 },
  });
  assert.equal(fake.requests.at(-1)!.body.stream, true);
});

test('transport: a streamed tool_use reply arrives as tool_call deltas that reassemble to the input', async () => {
  reply({ message: { content: [{ type: 'tool_use', id: 'toolu_9', name: 'clock', input: { tz: 'Europe/Oslo' } }] } });
  const chunks = await collect(await transport.sendChat(provider, account, chat({ stream: true, messages: toolConversation, tools }), ctx));
  const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  assert.equal(calls[0].id, 'toolu_9');
  assert.equal(calls[0].function?.name, 'clock');
  assert.ok(calls.every((c) => c.index === 0));
  assert.deepEqual(JSON.parse(calls.map((c) => c.function?.arguments ?? '').join('')), { tz: 'Europe/Oslo' });
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
  assert.equal(chunks.at(-1)!.flowrouter_internal_usage, true);
});

test('transport: json_schema response_format comes back as JSON content, JSON and streamed', async () => {
  handler = (r) => ({ message: { content: [{ type: 'tool_use', id: 'toolu_j', name: r.body.tool_choice.name, input: { name: 'Ada', age: 36 } }] } });
  const rf: ChatRequest['response_format'] = {
    type: 'json_schema',
    json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } } } },
  };
  const res = await transport.sendChat(provider, account, chat({ response_format: rf }), ctx);
  assert.ok(res.kind === 'json');
  assert.deepEqual(JSON.parse(res.response.choices[0].message.content!), { name: 'Ada', age: 36 });
  assert.equal(res.response.choices[0].finish_reason, 'stop');
  const chunks = await collect(await transport.sendChat(provider, account, chat({ response_format: rf, stream: true }), ctx));
  assert.deepEqual(JSON.parse(text(chunks)), { name: 'Ada', age: 36 });
});

test('transport: 529 overloaded_error becomes an overloaded UpstreamError', async () => {
  reply({ status: 529, errorType: 'overloaded_error', errorMessage: 'Overloaded' });
  await assert.rejects(
    transport.sendChat(provider, account, chat({}), ctx),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'overloaded' && e.upstreamStatus === 529,
  );
});

test('transport: 429 rate_limit_error keeps retry-after', async () => {
  reply({ status: 429, errorType: 'rate_limit_error', errorMessage: 'rate limited', headers: { 'retry-after': '3' } });
  await assert.rejects(
    transport.sendChat(provider, account, chat({ stream: true }), ctx),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'rate_limit' && e.retryAfterMs === 3000,
  );
});

test('transport: an error event mid-stream (after the 200) throws while the stream is consumed', async () => {
  const ev = (type: string, data: Record<string, unknown> = {}) => ({ event: type, data: { type, ...data } });
  reply({
    events: [
      ev('message_start', {
        message: {
          id: 'msg_e',
          type: 'message',
          role: 'assistant',
          model: 'claude',
          content: [],
          stop_reason: null,
          usage: { input_tokens: 3, output_tokens: 1 },
        },
      }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping'),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'partial' } }),
      ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ],
  });
  const res = await transport.sendChat(provider, account, chat({ stream: true }), ctx);
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      if (res.kind === 'stream') for await (const c of res.chunks) seen.push(c.choices[0]?.delta.content ?? '');
    })(),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'overloaded',
  );
  assert.equal(seen.join(''), 'partial');
});

test("transport: the fake rejects what the real API rejects, and the provider classifies it as the client's", async () => {
  // An assistant-first conversation is forwarded as-is; the upstream's 400 must come back as a client error.
  const res = transport.sendChat(provider, account, chat({ messages: [{ role: 'assistant', content: 'hello' }] }), ctx);
  await assert.rejects(res, (e: unknown) => e instanceof UpstreamError && e.kind === 'client' && e.upstreamStatus === 400 && /first message/.test(e.message));
});
