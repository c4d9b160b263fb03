// POST /v1/messages as deployed, translated: the official Anthropic SDK against the real server, whose chains reach
// OpenAI-format and Gemini fakes. Anthropic's event order, errors in Anthropic's shape, keep-alives, the chat pipeline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { chatResponse, openaiError, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startFakeGemini, textResponse, type FakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { postSse } from './sse.ts';

let oa: FakeOpenAI;
let ge: FakeGemini;
let gw: TestNode;
let client: Anthropic;
let geminiReply: () => FakeGeminiReply | undefined = () => undefined;

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Page >> endobj').toString('base64');
const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

before(async () => {
  oa = await startFakeOpenAI();
  ge = await startFakeGemini(() => geminiReply());
  gw = await startTestNode(`
server: { sse_keepalive_ms: 150 }
chains:
  local:
    - { model: vendor-model, provider: local, url: "${oa.url}" }
  gem3:
    - { model: gemini-3-pro-preview, provider: gemini, key: AIza-test-key-0123456789abcdefghij, url: "${ge.url}" }
  fallback:
    - { model: gone, provider: openai, key: sk-test-0000000000, url: "http://127.0.0.1:9/v1", name: unreachable }
    - { model: vendor-model, provider: local, url: "${oa.url}", name: backup }
`);
  client = new Anthropic({ apiKey: 'any', baseURL: gw.url, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([oa.close(), ge.close()]);
});

test('a Messages request to an OpenAI-format target is answered as an Anthropic Message, with usage and stop reason', async () => {
  oa.handler = null;
  const { data, response } = await client.messages
    .create({ model: 'local', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] })
    .withResponse();
  assert.deepEqual(data.content, [{ type: 'text', text: 'echo: hello', citations: null }]);
  assert.equal(data.stop_reason, 'end_turn');
  assert.deepEqual(data.usage, { input_tokens: 5, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  assert.match(data.id, /^msg_/);
  assert.equal(response.headers.get('x-flowrouter-chain'), 'local');
  assert.equal(response.headers.get('x-flowrouter-passthrough'), null);
  const sent = oa.requests.at(-1)!.body;
  assert.deepEqual(sent.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello' },
  ]);
  assert.equal(sent.max_completion_tokens, 64);
});

test("golden: a translated stream is Anthropic's exact event sequence, and the SDK accumulates it", async () => {
  oa.handler = null;
  const r = await postSse(`${gw.url}/v1/messages`, { model: 'local', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
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
  for (const e of r.events) assert.equal(e.json.type, e.event, 'each data carries its own type');
  assert.deepEqual(r.events[1].json, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  assert.deepEqual(r.events.at(-2)!.json, {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { input_tokens: 5, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
  const final = await client.messages.stream({ model: 'local', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'echo: hi' }]);
});

test('tools and tool results: a tool_use comes back from an OpenAI-format target, and the tool_result reaches it as a tool message', async () => {
  oa.handler = (req, res) => {
    if (req.body.messages.some((m: { role: string }) => m.role === 'tool')) return false;
    const body = chatResponse(req.body.model, '', {});
    body.choices[0] = {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      } as any,
      finish_reason: 'tool_calls',
      logprobs: null,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return true;
  };
  const history: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];
  const first = await client.messages.create({ model: 'local', max_tokens: 100, tools: [weather], tool_choice: { type: 'any' }, messages: history });
  assert.equal(first.stop_reason, 'tool_use');
  assert.deepEqual(first.content, [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } }]);
  assert.equal(oa.requests.at(-1)!.body.tool_choice, 'required');
  const second = await client.messages.create({
    model: 'local',
    max_tokens: 100,
    tools: [weather],
    messages: [
      ...history,
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '-3°C', is_error: false },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ],
  });
  assert.equal(second.content[0].type, 'text');
  const sent = oa.requests.at(-1)!.body.messages;
  assert.deepEqual(sent.slice(1), [
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '-3°C' },
    { role: 'user', content: 'And tomorrow?' },
  ]);
  oa.handler = null;
});

test('an image and a PDF document reach Gemini as inline data; a Gemini 3 thought signature survives the Anthropic client across the tool turn', async () => {
  geminiReply = () => ({
    json: {
      candidates: [
        {
          index: 0,
          finishReason: 'STOP',
          content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Rome' } }, thoughtSignature: 'U0lHLVJPTUU=' }] },
        },
      ],
      usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 3, totalTokenCount: 12 },
    },
  });
  const history: Anthropic.MessageParam[] = [
    {
      role: 'user',
      content: [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF }, title: 'forecast.pdf' },
        { type: 'text', text: 'Weather in the city on this picture?' },
      ],
    },
  ];
  const first = await client.messages.create({ model: 'gem3', max_tokens: 500, tools: [weather], messages: history });
  const parts = ge.requests.at(-1)!.body.contents[0].parts;
  assert.deepEqual(
    parts.slice(0, 2).map((p: any) => p.inlineData?.mimeType),
    ['image/png', 'application/pdf'],
  );
  assert.equal(parts[1].inlineData.data, PDF);
  assert.deepEqual(
    first.content.map((b) => b.type),
    ['thinking', 'tool_use'],
  );

  geminiReply = () => ({ json: textResponse('Warm.') });
  const use = first.content[1] as Anthropic.ToolUseBlock;
  const second = await client.messages.create({
    model: 'gem3',
    max_tokens: 500,
    tools: [weather],
    messages: [
      ...history,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '25°C' }] },
    ],
  });
  assert.equal((second.content[0] as Anthropic.TextBlock).text, 'Warm.');
  assert.equal(ge.requests.at(-1)!.body.contents[1].parts[0].thoughtSignature, 'U0lHLVJPTUU=');
});

test("errors are in Anthropic's shape: a bad body is invalid_request_error with Anthropic's field path", async () => {
  await assert.rejects(
    client.messages.create({ model: 'local', messages: [{ role: 'user', content: 'x' }] } as any),
    (e: any) =>
      e instanceof Anthropic.BadRequestError
      && (e as any).error?.type === 'error'
      && (e as any).error.error.type === 'invalid_request_error'
      && /^max_tokens/.test((e as any).error.error.message),
  );
  const r = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
  assert.equal(r.status, 400);
  const body: any = await r.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.ok(r.headers.get('request-id'), "Anthropic's SDKs read the request id from request-id");
  assert.equal(r.headers.get('request-id'), r.headers.get('x-request-id'));
});

test("an upstream rate limit is Anthropic's rate_limit_error with retry-after; an unknown model is not_found_error", async () => {
  oa.handler = (_req, res) => {
    openaiError(res, 429, 'slow down', 'rate_limit_error', 'rate_limit_exceeded', { 'retry-after': '7' });
    return true;
  };
  await assert.rejects(
    client.messages.create({ model: 'local', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    (e: any) => e instanceof Anthropic.RateLimitError && (e as any).error.error.type === 'rate_limit_error' && (e as any).headers.get('retry-after') === '7',
  );
  oa.handler = null;
  const lonely = await startTestNode(`chains:\n  only:\n    - { model: m, provider: local, url: "${oa.url}" }\n`);
  try {
    const c = new Anthropic({ apiKey: 'any', baseURL: lonely.url, maxRetries: 0 });
    await assert.rejects(
      c.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e instanceof Anthropic.NotFoundError && (e as any).error.error.type === 'not_found_error',
    );
  } finally {
    await lonely.stop();
  }
});

test("an upstream that breaks mid-stream ends the stream with Anthropic's in-band error event", async () => {
  oa.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'par' }, finish_reason: null }] })}\n\n`,
    );
    res.end(`data: ${JSON.stringify({ error: { message: 'the model crashed', type: 'server_error' } })}\n\n`);
    return true;
  };
  const r = await postSse(`${gw.url}/v1/messages`, { model: 'local', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(
    r.events.map((e) => e.event),
    ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error'],
  );
  assert.equal(r.events.at(-1)!.json.error.type, 'api_error');
  assert.match(r.events.at(-1)!.json.error.message, /the model crashed/);
  await assert.rejects(
    client.messages.stream({ model: 'local', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage(),
    /the model crashed/,
  );
  oa.handler = null;
});

test('a slow upstream gets ping events on the keep-alive timer while the client waits', async () => {
  oa.handler = async (req, res) => {
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: req.body.model };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'one' }, finish_reason: null }] })}\n\n`);
    await sleep(700);
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: ' two' }, finish_reason: 'stop' }] })}\n\n`);
    res.end('data: [DONE]\n\n');
    return true;
  };
  const r = await postSse(`${gw.url}/v1/messages`, { model: 'local', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const names = r.events.map((e) => e.event);
  const firstDelta = names.indexOf('content_block_delta');
  const between = names.slice(firstDelta + 1, names.lastIndexOf('content_block_delta'));
  assert.ok(between.filter((n) => n === 'ping').length >= 3, `pings while the upstream was quiet: ${names.join(',')}`);
  assert.equal(names.at(-1), 'message_stop');
  oa.handler = null;
});

test('the chat pipeline serves Messages clients: fallback, a usage row, then a cache hit shared with a chat client', async () => {
  oa.handler = null;
  const body = { model: 'fallback', max_tokens: 30, temperature: 0, messages: [{ role: 'user' as const, content: 'cache me' }] };
  const { data, response } = await client.messages.create(body).withResponse();
  assert.equal(data.content[0].type === 'text' && data.content[0].text, 'echo: cache me');
  assert.equal(response.headers.get('x-flowrouter-target'), 'backup');
  assert.equal(response.headers.get('x-flowrouter-attempts'), '2');
  assert.equal(response.headers.get('x-flowrouter-cache'), 'miss');
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT * FROM usage_ledger WHERE request_id = ?').get(response.headers.get('x-request-id')) as any;
  assert.deepEqual([row.chain, row.target, row.model, row.prompt_tokens, row.completion_tokens, row.status], ['fallback', 'backup', 'vendor-model', 5, 2, 200]);

  const upstreamCalls = oa.requests.length;
  const again = await client.messages.create(body).withResponse();
  assert.equal(again.response.headers.get('x-flowrouter-cache'), 'hit');
  assert.deepEqual(again.data.content, data.content);
  const chat = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
  const viaChat = await chat.chat.completions
    .create({ model: 'fallback', max_completion_tokens: 30, temperature: 0, messages: [{ role: 'user', content: 'cache me' }] })
    .withResponse();
  assert.equal(viaChat.response.headers.get('x-flowrouter-cache'), 'hit');
  assert.equal(viaChat.data.choices[0].message.content, 'echo: cache me');
  assert.equal(oa.requests.length, upstreamCalls, 'both answered from the cache');
});

test("count_tokens for a non-Anthropic target is Flow Router's estimate, marked as such", async () => {
  const { data, response } = await client.messages
    .countTokens({ model: 'local', system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this?' }] })
    .withResponse();
  assert.equal(response.headers.get('x-flowrouter-token-count'), 'estimate');
  assert.ok(data.input_tokens > 8 && data.input_tokens < 30, String(data.input_tokens));
  const withTools = await client.messages.countTokens({ model: 'local', tools: [weather], messages: [{ role: 'user', content: 'How many tokens is this?' }] });
  assert.ok(withTools.input_tokens > data.input_tokens + 300, "tools add Anthropic's tool prompt");
  await assert.rejects(
    client.messages.countTokens({ model: 'local', messages: [] }),
    (e: any) => e.status === 400 && (e as any).error.error.type === 'invalid_request_error',
  );
});

test('golden: text then a tool call, streamed from an OpenAI-format target, is one text block then one tool_use block', async () => {
  oa.handler = (req, res) => {
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: req.body.model };
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: 'Checking.' }));
    res.write(chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }] }));
    res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }));
    res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }));
    res.write(chunk({}, 'tool_calls'));
    res.end('data: [DONE]\n\n');
    return true;
  };
  const r = await postSse(`${gw.url}/v1/messages`, {
    model: 'local',
    max_tokens: 50,
    stream: true,
    tools: [weather],
    messages: [{ role: 'user', content: 'weather?' }],
  });
  assert.deepEqual(
    r.events.map((e) => [e.event, e.json.index ?? null, e.json.delta?.type ?? e.json.content_block?.type ?? null]),
    [
      ['message_start', null, null],
      ['content_block_start', 0, 'text'],
      ['ping', null, null],
      ['content_block_delta', 0, 'text_delta'],
      ['content_block_stop', 0, null],
      ['content_block_start', 1, 'tool_use'],
      ['content_block_delta', 1, 'input_json_delta'],
      ['content_block_delta', 1, 'input_json_delta'],
      ['content_block_stop', 1, null],
      ['message_delta', null, null],
      ['message_stop', null, null],
    ],
  );
  assert.deepEqual(r.events[5].json.content_block, { type: 'tool_use', id: 'call_9', name: 'get_weather', input: {} });
  assert.equal(r.events.at(-2)!.json.delta.stop_reason, 'tool_use');
  const final = await client.messages
    .stream({ model: 'local', max_tokens: 50, tools: [weather], messages: [{ role: 'user', content: 'weather?' }] })
    .finalMessage();
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['text', 'tool_use'],
  );
  assert.deepEqual((final.content[1] as Anthropic.ToolUseBlock).input, { city: 'Oslo' });
  oa.handler = null;
});

test('a Messages client that leaves mid-stream ends the upstream request too, and the request is recorded as 499', async () => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    upstreamClosed = resolve;
  });
  oa.handler = (req, res) => {
    res.on('close', () => upstreamClosed());
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: req.body.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'start' }, finish_reason: null }] })}\n\n`,
    );
    return true; // and never finishes
  };
  const ac = new AbortController();
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: ac.signal,
    body: JSON.stringify({ model: 'local', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const requestId = res.headers.get('x-request-id');
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  await Promise.race([closed, sleep(3000).then(() => assert.fail('the upstream request was left running'))]);
  await sleep(50);
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT status FROM usage_ledger WHERE request_id = ?').get(requestId) as { status: number };
  assert.equal(row.status, 499);
  oa.handler = null;
});
