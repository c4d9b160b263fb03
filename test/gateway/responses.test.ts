// POST /v1/responses as deployed, translated: the openai SDK against the real server, whose chains reach Anthropic
// and OpenAI-format (Chat Completions) fakes. The Responses event order, tools, stored responses and their lifetime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { chatResponse, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { postSse } from './sse.ts';

let an: FakeAnthropic;
let oa: FakeOpenAI;
let gw: TestNode;
let client: OpenAI;
let reply: () => FakeReply = () => textReply('ok');

const chains = () => `
chains:
  claude:
    - { model: claude-sonnet-4-20250514, provider: anthropic, key: sk-ant-test-000000, url: "${an.url}" }
  local:
    - { model: vendor-model, provider: local, url: "${oa.url}" }
`;

before(async () => {
  an = await startFakeAnthropic(() => reply());
  oa = await startFakeOpenAI();
  gw = await startTestNode(chains());
  client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([an.close(), oa.close()]);
});

const getWeather = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

test('a Responses request reaches Anthropic translated and comes back a Response with output_text and usage', async () => {
  reply = () => textReply('Bonjour.', { usage: { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 20 } });
  const { data, response } = await client.responses
    .create({ model: 'claude', instructions: 'Answer in French.', input: 'Hello', max_output_tokens: 200 })
    .withResponse();
  assert.equal(data.output_text, 'Bonjour.');
  assert.equal(data.status, 'completed');
  assert.match(data.id, /^resp_[0-9a-f]{32}$/);
  assert.deepEqual(data.usage, {
    input_tokens: 30,
    input_tokens_details: { cached_tokens: 20, cache_write_tokens: 0 },
    output_tokens: 3,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 33,
  } as any);
  assert.equal(response.headers.get('x-flowrouter-chain'), 'claude');
  const sent = an.requests.at(-1)!.body;
  assert.deepEqual([sent.system, sent.messages, sent.max_tokens], ['Answer in French.', [{ role: 'user', content: 'Hello' }], 200]);
});

test("golden: a translated stream is the Responses API's event sequence with sequence numbers, and the SDK accumulates it", async () => {
  const r = await postSse(`${gw.baseURL}/responses`, { model: 'local', input: 'hi', stream: true });
  assert.deepEqual(
    r.events.map((e) => e.event),
    [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ],
  );
  assert.deepEqual(
    r.events.map((e) => e.json.sequence_number),
    r.events.map((_e, i) => i),
  );
  for (const e of r.events) assert.equal(e.json.type, e.event);
  const done = r.events.at(-1)!.json.response;
  assert.equal(done.status, 'completed');
  assert.equal(done.output[0].content[0].text, 'echo: hi');
  assert.equal(done.usage.output_tokens, 3);
  const final = await client.responses.stream({ model: 'local', input: 'hi' }).finalResponse();
  assert.equal(final.output_text, 'echo: hi');
});

test('function calls and their outputs round-trip through a Chat Completions target', async () => {
  oa.handler = (req, res) => {
    if (req.body.messages.some((m: { role: string }) => m.role === 'tool')) return false;
    const body = chatResponse(req.body.model, '');
    body.choices[0] = {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      } as any,
      finish_reason: 'tool_calls',
      logprobs: null,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return true;
  };
  const first = await client.responses.create({ model: 'local', input: 'Weather in Paris?', tools: [getWeather], tool_choice: 'required' });
  assert.deepEqual(
    first.output.map((o) => o.type),
    ['function_call'],
  );
  const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
  assert.deepEqual([call.call_id, call.name, call.arguments], ['call_7', 'get_weather', '{"city":"Paris"}']);
  assert.equal(oa.requests.at(-1)!.body.tool_choice, 'required');
  const second = await client.responses.create({
    model: 'local',
    previous_response_id: first.id,
    tools: [getWeather],
    input: [{ type: 'function_call_output', call_id: 'call_7', output: '18°C' }],
  });
  assert.equal(second.output_text, 'echo: Weather in Paris?');
  assert.deepEqual(oa.requests.at(-1)!.body.messages.slice(1), [
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_7', content: '18°C' },
  ]);
  oa.handler = null;
});

test('responses are stored by default: previous_response_id continues a conversation over three turns; GET, input_items and DELETE work', async () => {
  const one = await client.responses.create({ model: 'local', instructions: 'first instructions', input: 'one' });
  const two = await client.responses.create({ model: 'local', previous_response_id: one.id, input: [{ role: 'user', content: 'two' }] });
  const three = await client.responses.stream({ model: 'local', previous_response_id: two.id, input: 'three' }).finalResponse();
  assert.equal(three.previous_response_id, two.id);
  assert.deepEqual(
    oa.requests.at(-1)!.body.messages,
    [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'echo: one' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'echo: two' },
      { role: 'user', content: 'three' },
    ],
    'earlier turns come back; instructions of earlier responses do not',
  );

  const got = await client.responses.retrieve(three.id);
  assert.deepEqual([got.id, got.output_text, (got as any).store], [three.id, 'echo: three', true]);
  const items = await client.responses.inputItems.list(two.id);
  assert.deepEqual(
    items.data.map((i: any) => [i.type, i.role, i.content]),
    [['message', 'user', 'two']],
  );
  assert.match(items.data[0].id, /^msg_/);

  await client.responses.delete(two.id);
  await assert.rejects(client.responses.retrieve(two.id), (e: any) => e.status === 404 && e.code === 'response_not_found');
  await assert.rejects(
    client.responses.create({ model: 'local', previous_response_id: three.id, input: 'four' }),
    (e: any) => e.status === 400 && e.code === 'previous_response_not_found' && e.message.includes(two.id),
    'a missing turn on the way is named',
  );
  await assert.rejects(client.responses.delete(two.id), (e: any) => e.status === 404);
});

test('store: false keeps nothing: the response says so, GET is a 404 and it cannot be continued', async () => {
  const r = await client.responses.create({ model: 'local', input: 'secret', store: false });
  assert.equal((r as any).store, false);
  assert.equal(gw.node.responses.get(r.id, 'anonymous'), undefined);
  await assert.rejects(client.responses.retrieve(r.id), (e: any) => e.status === 404);
  await assert.rejects(
    client.responses.create({ model: 'local', input: 'more', previous_response_id: r.id }),
    (e: any) => e.status === 400 && e.param === 'previous_response_id',
  );
  const streamed = await client.responses.stream({ model: 'local', input: 'secret', store: false }).finalResponse();
  assert.equal(gw.node.responses.get(streamed.id, 'anonymous'), undefined);
});

test('responses.store: false in the config turns storage off node-wide, whatever the request says', async () => {
  const off = await startTestNode(`responses: { store: false }\n${chains()}`);
  try {
    const c = new OpenAI({ apiKey: 'any', baseURL: off.baseURL, maxRetries: 0 });
    const r = await c.responses.create({ model: 'local', input: 'x', store: true });
    assert.equal((r as any).store, false);
    assert.equal((off.node.db.prepare('SELECT count(*) AS n FROM responses').get() as { n: number }).n, 0);
    await assert.rejects(c.responses.retrieve(r.id), (e: any) => e.status === 404);
    await assert.rejects(
      c.responses.create({ model: 'local', input: 'y', previous_response_id: r.id }),
      (e: any) => e.status === 400 && e.code === 'previous_response_not_found',
    );
  } finally {
    await off.stop();
  }
});

test('stored responses expire after responses.retention_days, and the retention job deletes them in batches', async () => {
  // 0.00002 days is 1.7 s: long enough to continue at once, short enough to outlive here.
  const brief = await startTestNode(`responses: { retention_days: 0.00002 }\n${chains()}`);
  try {
    const c = new OpenAI({ apiKey: 'any', baseURL: brief.baseURL, maxRetries: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.responses.create({ model: 'local', input: `n${i}` })).id);
    assert.equal((await c.responses.retrieve(ids[0])).id, ids[0]);
    await sleep(1900);
    await assert.rejects(c.responses.retrieve(ids[0]), (e: any) => e.status === 404, 'past retention it is gone at once, pruned or not');
    const count = () => (brief.node.db.prepare('SELECT count(*) AS n FROM responses').get() as { n: number }).n;
    assert.equal(count(), 3);
    assert.equal(await brief.node.responsesRetention.runOnce(), 3);
    assert.equal(count(), 0);
  } finally {
    await brief.stop();
  }
});

test('hosted tools are left out of a request translated for a chat target, and the answer names them; the cache is bypassed', async () => {
  const { data, response } = await client.responses
    .create({
      model: 'local',
      input: [
        { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'news' } } as any,
        { role: 'user', content: 'news?' },
      ],
      tools: [{ type: 'web_search' } as any, getWeather],
      temperature: 0,
    })
    .withResponse();
  assert.equal(data.output_text, 'echo: news?');
  assert.equal(response.headers.get('x-flowrouter-left-out'), 'tools[0] (web_search), input[0] (web_search_call)');
  assert.equal(response.headers.get('x-flowrouter-cache'), 'bypass');
  const sent = oa.requests.at(-1)!.body;
  assert.deepEqual(
    sent.tools.map((t: any) => t.function.name),
    ['get_weather'],
  );
  assert.deepEqual(sent.messages, [{ role: 'user', content: 'news?' }]);
});

test('what only OpenAI serves otherwise is refused where no target speaks the Responses API: client tools of other types, a forced hosted tool, conversation', async () => {
  await assert.rejects(
    client.responses.create({ model: 'local', input: 'patch', tools: [{ type: 'custom', name: 'apply_patch' } as any] }),
    (e: any) => e.status === 400 && e.param === 'tools[0].type' && e.code === 'unsupported_tool',
  );
  await assert.rejects(
    client.responses.create({ model: 'local', input: 'news', tools: [{ type: 'web_search' } as any], tool_choice: { type: 'web_search' } as any }),
    (e: any) => e.status === 400 && e.param === 'tool_choice',
  );
  await assert.rejects(
    client.responses.create({ model: 'local', input: 'x', conversation: 'conv_1' } as any),
    (e: any) => e.status === 400 && e.param === 'conversation',
  );
});

test('golden: Anthropic thinking then a tool call, streamed, is a reasoning item (its signature carried) then a function_call item', async () => {
  reply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'Use the tool.' },
        { type: 'tool_use', id: 'toolu_5', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    },
  });
  const r = await postSse(`${gw.baseURL}/responses`, { model: 'claude', input: 'weather?', tools: [getWeather], reasoning: { effort: 'low' }, stream: true });
  assert.deepEqual(
    r.events.map((e) => e.event),
    [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ],
  );
  const output = r.events.at(-1)!.json.response.output;
  assert.deepEqual(
    output.map((o: any) => o.type),
    ['reasoning', 'function_call'],
  );
  assert.match(output[0].encrypted_content, /^flowrouter\.v1\./);
  assert.deepEqual([output[1].call_id, output[1].arguments], ['toolu_5', '{"city":"Oslo"}']);
  const final = await client.responses.stream({ model: 'claude', input: 'weather?', tools: [getWeather], reasoning: { effort: 'low' } }).finalResponse();
  assert.deepEqual(
    final.output.map((o) => o.type),
    ['reasoning', 'function_call'],
  );
});

test('an image and a PDF reach Anthropic through the Responses API, and its signed thinking is kept across the tool turn by previous_response_id', async () => {
  const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Page >> endobj').toString('base64');
  reply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'Check the forecast.' },
        { type: 'tool_use', id: 'toolu_img', name: 'get_weather', input: { city: 'Bergen' } },
      ],
    },
  });
  const first = await client.responses.create({
    model: 'claude',
    tools: [getWeather],
    reasoning: { effort: 'low' },
    input: [
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'Where is this, and what is the weather?' },
          { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' },
          { type: 'input_file', filename: 'forecast.pdf', file_data: `data:application/pdf;base64,${PDF}` },
        ],
      },
    ],
  });
  const blocks = an.requests.at(-1)!.body.messages[0].content;
  assert.deepEqual(
    blocks.map((b: any) => b.type),
    ['text', 'image', 'document'],
  );
  assert.equal(blocks[2].source.data, PDF);
  assert.deepEqual(
    first.output.map((o) => o.type),
    ['reasoning', 'function_call'],
  );

  reply = () => textReply('Rain in Bergen.');
  const second = await client.responses.create({
    model: 'claude',
    tools: [getWeather],
    reasoning: { effort: 'low' },
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: 'toolu_img', output: '12°C, rain' }],
  });
  assert.equal(second.output_text, 'Rain in Bergen.', 'Anthropic accepted the tool turn: its signed thinking came back');
  const assistant = an.requests.at(-1)!.body.messages[1].content;
  assert.equal(assistant[0].type, 'thinking');
  assert.equal(assistant[0].thinking, 'Check the forecast.');
});
