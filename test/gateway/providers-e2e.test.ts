// Every provider behind the gateway, driven by the official openai SDK: fallback, JSON, streams and tools.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { startFakeGemini, textResponse, type FakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let oa: FakeOpenAI;
let an: FakeAnthropic;
let ge: FakeGemini;
let gw: TestNode;
let client: OpenAI;
let anthropicReply: (body: any) => FakeReply = () => textReply('hello from claude');
let geminiReply: (body: any) => FakeGeminiReply | undefined = () => undefined;

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } },
};

before(async () => {
  oa = await startFakeOpenAI();
  an = await startFakeAnthropic((req) => anthropicReply(req.body));
  ge = await startFakeGemini((call) => geminiReply(call.body));
  gw = await startTestNode(
    `
chains:
  default:
    - model: gpt-4
      provider: openai
      key: \${OPENAI_KEY}
      url: http://127.0.0.1:9/v1
    - model: claude-3-sonnet
      provider: anthropic
      key: \${ANTHROPIC_KEY}
      url: ${an.url}
    - model: mistral-7b
      provider: local
      url: ${oa.url}
  gem:
    - model: gemini-2.0-flash
      provider: gemini
      key: AIza-test-key-0123456789abcdefghij
      url: ${ge.url}
  gem-embed:
    - model: text-embedding-004
      provider: gemini
      key: AIza-test-key-0123456789abcdefghij
      url: ${ge.url}
  az:
    - model: gpt-4o
      provider: azure
      key: azure-secret-key-123456
      deployment: prod-4o
      url: ${oa.url.replace(/\/v1$/, '')}
`,
    { OPENAI_KEY: 'sk-openai-000000000000', ANTHROPIC_KEY: 'sk-ant-000000000000' },
  );
  client = new OpenAI({ apiKey: 'any-key', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([oa.close(), an.close(), ge.close()]);
});

test('the seed chain falls from a dead OpenAI target to Anthropic, and says so', async () => {
  anthropicReply = () => textReply('hello from claude');
  const { data, response } = await client.chat.completions
    .create({
      model: 'gpt-4',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
    })
    .withResponse();
  assert.equal(data.choices[0].message.content, 'hello from claude');
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.equal(response.headers.get('x-flowrouter-target'), 'default/anthropic/claude-3-sonnet');
  assert.equal(response.headers.get('x-flowrouter-attempts'), '2');
  const sent = an.requests.at(-1)!;
  assert.equal(sent.body.system, 'be brief');
  assert.equal(typeof sent.body.max_tokens, 'number');
  assert.equal(sent.headers['x-api-key'], 'sk-ant-000000000000');
});

test('Anthropic streams text through the SDK', async () => {
  anthropicReply = () => textReply('streamed words here');
  const stream = await client.chat.completions.create({ model: 'claude-3-sonnet', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'streamed words here');
});

test('Anthropic tool calls come back as OpenAI tool_calls, streamed argument deltas included', async () => {
  anthropicReply = () => ({
    message: { content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }], stop_reason: 'tool_use' },
  });
  const res = await client.chat.completions.create({ model: 'claude-3-sonnet', messages: [{ role: 'user', content: 'weather' }], tools: [weatherTool] });
  assert.equal(res.choices[0].finish_reason, 'tool_calls');
  const call = res.choices[0].message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
  assert.deepEqual([call.id, call.function.name, JSON.parse(call.function.arguments)], ['toolu_1', 'get_weather', { city: 'Oslo' }]);

  const stream = await client.chat.completions.create({
    model: 'claude-3-sonnet',
    messages: [{ role: 'user', content: 'weather' }],
    tools: [weatherTool],
    stream: true,
  });
  let args = '';
  let finish = null;
  for await (const c of stream) {
    args += c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.deepEqual(JSON.parse(args), { city: 'Oslo' });
  assert.equal(finish, 'tool_calls');

  // The tool result goes back as one tool_result per tool_use id.
  anthropicReply = () => textReply('It is sunny in Oslo.');
  const followUp = await client.chat.completions.create({
    model: 'claude-3-sonnet',
    tools: [weatherTool],
    messages: [
      { role: 'user', content: 'weather' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
    ],
  });
  assert.equal(followUp.choices[0].message.content, 'It is sunny in Oslo.');
  const blocks = an.requests.at(-1)!.body.messages.at(-1).content;
  assert.deepEqual(
    blocks.map((b: any) => [b.type, b.tool_use_id]),
    [['tool_result', 'toolu_1']],
  );
});

test('Gemini answers JSON and streams, the key only in x-goog-api-key', async () => {
  geminiReply = () => ({ json: textResponse('hello from gemini') });
  const res = await client.chat.completions.create({ model: 'gem', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.choices[0].message.content, 'hello from gemini');
  assert.equal(res.usage?.prompt_tokens, 7);
  assert.equal(ge.requests.at(-1)!.headers['x-goog-api-key'], 'AIza-test-key-0123456789abcdefghij');

  geminiReply = () => ({
    sse: [
      { candidates: [{ content: { role: 'model', parts: [{ text: 'part one, ' }] }, index: 0 }] },
      {
        candidates: [{ content: { role: 'model', parts: [{ text: 'part two' }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
      },
    ],
  });
  const stream = await client.chat.completions.create({
    model: 'gem',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? '';
    usage = c.usage ?? usage;
  }
  assert.equal(text, 'part one, part two');
  assert.equal(usage?.total_tokens, 7);
});

test('Gemini function calls finish as tool_calls and tool results carry the function name', async () => {
  geminiReply = () => ({
    json: {
      candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] }, finishReason: 'STOP', index: 0 }],
    },
  });
  const res = await client.chat.completions.create({ model: 'gem', messages: [{ role: 'user', content: 'weather' }], tools: [weatherTool] });
  assert.equal(res.choices[0].finish_reason, 'tool_calls');
  const call = res.choices[0].message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Rome' });
  assert.equal(ge.requests.at(-1)!.body.tools[0].functionDeclarations[0].parameters.additionalProperties, undefined);

  geminiReply = () => ({ json: textResponse('Rome is warm.') });
  await client.chat.completions.create({
    model: 'gem',
    tools: [weatherTool],
    messages: [
      { role: 'user', content: 'weather' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: call.function.arguments } }],
      },
      { role: 'tool', tool_call_id: call.id, content: '{"temp":25}' },
    ],
  });
  const last = ge.requests.at(-1)!.body.contents.at(-1);
  assert.equal(last.parts[0].functionResponse.name, 'get_weather');
});

test('Gemini embeddings come back base64-encoded when the SDK asks for base64', async () => {
  geminiReply = () => ({ json: { embeddings: [{ values: [0.5, -0.25, 1] }] } });
  const res = await client.embeddings.create({ model: 'text-embedding-004', input: 'hello' });
  assert.deepEqual(res.data[0].embedding, [0.5, -0.25, 1]);
  const raw = await fetch(`${gw.baseURL}/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'text-embedding-004', input: 'hello', encoding_format: 'base64' }),
  });
  assert.equal(typeof ((await raw.json()) as { data: { embedding: unknown }[] }).data[0].embedding, 'string');
});

test('Azure gets the deployment path, api-version and api-key header', async () => {
  const res = await client.chat.completions.create({ model: 'az', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.choices[0].message.content, 'echo: hi');
  const sent = oa.requests.at(-1)!;
  assert.match(sent.url, /^\/openai\/deployments\/prod-4o\/chat\/completions\?api-version=/);
  assert.equal(sent.headers['api-key'], 'azure-secret-key-123456');
  assert.equal(sent.headers.authorization, undefined);
});

test('an in-band Anthropic error after the first chunk ends the stream with an error event and [DONE]', async () => {
  anthropicReply = () => ({
    events: [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'claude-3-sonnet',
            content: [],
            stop_reason: null,
            usage: { input_tokens: 3, output_tokens: 0 },
          },
        },
      },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'partial' } } },
      { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
    ],
  });
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-3-sonnet', stream: true, messages: [{ role: 'user', content: 'x' }] }),
  });
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.match(body, /"content":"partial"/);
  assert.match(body, /data: \{"error":\{"message":"[^"]*Overloaded/);
  assert.ok(body.trimEnd().endsWith('data: [DONE]'));
});
