// Nothing lost through /v1/chat/completions, as deployed: thinking blocks, thought signatures, files, cache usage and
// one-call requests round-trip between the openai SDK and each provider's wire-faithful fake, which refuses what the real API refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { fakeSignature, startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { startFakeGemini, textResponse, type FakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let oa: FakeOpenAI;
let an: FakeAnthropic;
let ge: FakeGemini;
let gw: TestNode;
let client: OpenAI;
let anthropicReply: (body: any) => FakeReply = () => textReply('ok');
let geminiReply: (body: any) => FakeGeminiReply | undefined = () => undefined;

const tool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
const PDF = Buffer.from('%PDF-1.4 tiny').toString('base64');

before(async () => {
  oa = await startFakeOpenAI();
  an = await startFakeAnthropic((req) => anthropicReply(req.body));
  ge = await startFakeGemini((call) => geminiReply(call.body));
  gw = await startTestNode(`
chains:
  claude:
    - { model: claude-sonnet-4-20250514, provider: anthropic, key: sk-ant-test-000000, url: "${an.url.replace(/\/v1$/, '')}" }
  gem3:
    - { model: gemini-3-pro-preview, provider: gemini, key: AIza-test-key-0123456789abcdefghij, url: "${ge.url}" }
  local:
    - { model: vendor-model, provider: local, url: "${oa.url}" }
`);
  client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([oa.close(), an.close(), ge.close()]);
});

test("Anthropic thinking round-trips: signed blocks come back in thinking_blocks and, sent back, satisfy Anthropic's check on the tool turn", async () => {
  anthropicReply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'I should call the tool.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    },
  });
  const first = await client.chat.completions.create({
    model: 'claude',
    reasoning_effort: 'low',
    tools: [tool],
    messages: [{ role: 'user', content: 'weather?' }],
  });
  const m = first.choices[0].message as any;
  assert.equal(m.reasoning_content, 'I should call the tool.');
  assert.deepEqual(m.thinking_blocks, [{ type: 'thinking', thinking: 'I should call the tool.', signature: fakeSignature('I should call the tool.') }]);
  assert.equal(an.requests.at(-1)!.body.thinking.type, 'enabled');

  anthropicReply = () => textReply('Sunny.');
  const followUp = [{ role: 'user', content: 'weather?' }, m, { role: 'tool', tool_call_id: 'toolu_9', content: 'sunny' }];
  const second = await client.chat.completions.create({ model: 'claude', reasoning_effort: 'low', tools: [tool], messages: followUp as any });
  assert.equal(second.choices[0].message.content, 'Sunny.');
  assert.equal(an.requests.at(-1)!.body.messages[1].content[0].type, 'thinking');

  // The same turn without its thinking block is what Anthropic refuses (what the gateway used to send).
  const { thinking_blocks: _dropped, ...stripped } = m;
  await assert.rejects(
    client.chat.completions.create({ model: 'claude', reasoning_effort: 'low', tools: [tool], messages: [followUp[0], stripped, followUp[2]] as any }),
    (e: any) => e.status === 400 && /Expected `thinking`/.test(e.message),
  );
});

test('Anthropic thinking streams as reasoning_content deltas, then the signed block in thinking_blocks', async () => {
  anthropicReply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'streamed thought' },
        { type: 'text', text: 'Done.' },
      ],
    },
  });
  const stream = await client.chat.completions.create({ model: 'claude', reasoning_effort: 'low', stream: true, messages: [{ role: 'user', content: 'x' }] });
  let reasoning = '';
  let text = '';
  const blocks: unknown[] = [];
  for await (const c of stream) {
    const d = c.choices[0]?.delta as any;
    reasoning += d?.reasoning_content ?? '';
    text += d?.content ?? '';
    blocks.push(...(d?.thinking_blocks ?? []));
  }
  assert.deepEqual([reasoning, text], ['streamed thought', 'Done.']);
  assert.deepEqual(blocks, [{ type: 'thinking', thinking: 'streamed thought', signature: fakeSignature('streamed thought') }]);
});

test("Gemini 3 thought signatures round-trip through tool_calls[].extra_content; a call that lost it gets Google's skip value, not a 400", async () => {
  geminiReply = () => ({
    json: {
      candidates: [
        {
          index: 0,
          finishReason: 'STOP',
          content: {
            role: 'model',
            parts: [
              { text: 'weighing options', thought: true },
              { functionCall: { name: 'get_weather', args: { city: 'Rome' } }, thoughtSignature: 'R0VNLVNJRy0x' },
            ],
          },
        },
      ],
    },
  });
  const first = await client.chat.completions.create({ model: 'gem3', tools: [tool], messages: [{ role: 'user', content: 'weather?' }] });
  const call = first.choices[0].message.tool_calls![0] as any;
  assert.deepEqual(call.extra_content, { google: { thought_signature: 'R0VNLVNJRy0x' } });
  assert.equal((first.choices[0].message as any).reasoning_content, 'weighing options');

  geminiReply = () => ({ json: textResponse('Rome is warm.') });
  const turn = (c: any) => [
    { role: 'user', content: 'weather?' },
    { role: 'assistant', content: null, tool_calls: [c] },
    { role: 'tool', tool_call_id: c.id, content: '{"t":25}' },
  ];
  const second = await client.chat.completions.create({ model: 'gem3', tools: [tool], messages: turn(call) as any });
  assert.equal(second.choices[0].message.content, 'Rome is warm.');
  assert.equal(ge.requests.at(-1)!.body.contents[1].parts[0].thoughtSignature, 'R0VNLVNJRy0x');

  const { extra_content: _lost, ...bare } = call;
  await client.chat.completions.create({ model: 'gem3', tools: [tool], messages: turn(bare) as any });
  assert.equal(ge.requests.at(-1)!.body.contents[1].parts[0].thoughtSignature, 'skip_thought_signature_validator');
});

test('Gemini keeps only the first call when the client asked for parallel_tool_calls: false', async () => {
  geminiReply = () => ({
    json: {
      candidates: [
        {
          index: 0,
          finishReason: 'STOP',
          content: {
            role: 'model',
            parts: [
              { functionCall: { name: 'get_weather', args: { city: 'A' } }, thoughtSignature: 'UDE=' },
              { functionCall: { name: 'get_weather', args: { city: 'B' } } },
            ],
          },
        },
      ],
    },
  });
  const res = await client.chat.completions.create({
    model: 'gem3',
    tools: [tool],
    parallel_tool_calls: false,
    messages: [{ role: 'user', content: 'two cities' }],
  });
  assert.deepEqual(
    res.choices[0].message.tool_calls!.map((c: any) => JSON.parse(c.function.arguments).city),
    ['A'],
  );
});

test('a PDF reaches Anthropic as a document block and Gemini as inline data; a file type neither reads is a 400 naming the part', async () => {
  anthropicReply = () => textReply('read it');
  geminiReply = () => ({ json: textResponse('read it too') });
  const content = [
    { type: 'text' as const, text: 'summarise' },
    { type: 'file' as const, file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` } },
  ];
  await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content }] });
  assert.deepEqual(an.requests.at(-1)!.body.messages[0].content[1], {
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: PDF },
    title: 'a.pdf',
  });
  await client.chat.completions.create({ model: 'gem3', messages: [{ role: 'user', content }] });
  assert.deepEqual(ge.requests.at(-1)!.body.contents[0].parts[1], { inlineData: { mimeType: 'application/pdf', data: PDF } });

  const zip = [{ type: 'file' as const, file: { file_data: 'data:application/zip;base64,UEs=' } }];
  await assert.rejects(
    client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: zip }] }),
    (e: any) => e.status === 400 && (e as any).error?.param === 'messages[0].content[0]' && /application\/zip/.test(e.message),
  );
});

test('Anthropic cache reads and writes are recorded apart in the ledger and each priced at its own rate', async () => {
  anthropicReply = () => ({
    message: {
      content: [{ type: 'text', text: 'cached' }],
      usage: { input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 },
    },
  });
  const { response, data } = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  assert.deepEqual(data.usage?.prompt_tokens_details, { cached_tokens: 1000, cache_write_tokens: 200 });
  assert.equal(data.usage?.prompt_tokens, 1210);
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT * FROM usage_ledger WHERE request_id = ?').get(response.headers.get('x-request-id')) as any;
  assert.deepEqual([row.prompt_tokens, row.cached_tokens, row.cache_write_tokens], [1210, 1000, 200]);
  assert.equal(row.cost, (10 * 3 + 1000 * 0.3 + 200 * 3.75 + 4 * 15) / 1e6);
});

test("an Anthropic url without /v1 is served at /v1/messages (this chain's url has none)", async () => {
  anthropicReply = () => textReply('found');
  const res = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'where?' }] });
  assert.equal(res.choices[0].message.content, 'found');
  assert.equal(an.requests.at(-1)!.path, '/v1/messages');
});

test("a chat client's unknown fields reach an OpenAI-compatible target untouched (same API); the fake refuses what OpenAI would", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'x' }], vendor_knob: 1 } as any),
    (e: any) => e.status === 400 && /Unrecognized request argument supplied: vendor_knob/.test(e.message),
  );
  assert.equal(oa.requests.at(-1)!.body.vendor_knob, 1);
});
