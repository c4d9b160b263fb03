// Multi-turn tool loops through the inbound translators, official SDKs on one side and real provider translation and
// transport to wire-faithful fakes on the other: provider state survives a client API that has no field for it.
// (The SDKs' `fetch` option stands in for the HTTP route, which the pipeline mounts.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ChatRequest } from '../../src/core/openai.ts';
import { Transport, providers, type ProviderAccount, type ProviderType } from '../../src/providers/index.ts';
import {
  anthropicStreamEncoder,
  anthropicToChatRequest,
  chatToAnthropicMessage,
  formatAnthropicSse,
  wantsThinking,
  type MessagesRequest,
} from '../../src/inbound/anthropic/index.ts';
import {
  chatToResponse,
  formatResponsesSse,
  responsesStreamEncoder,
  responsesToChatRequest,
  type ResponsesRequest,
} from '../../src/inbound/responses/index.ts';
import { fakeSignature, startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { startFakeGemini, textResponse, type FakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';

let an: FakeAnthropic;
let ge: FakeGemini;
const transport = new Transport();
let anthropicReply: () => FakeReply = () => textReply('ok');
let geminiReply: () => FakeGeminiReply | undefined = () => undefined;
before(async () => {
  an = await startFakeAnthropic(() => anthropicReply());
  ge = await startFakeGemini(() => geminiReply());
});
after(async () => {
  await transport.stop();
  await Promise.all([an.close(), ge.close()]);
});

const account = (type: ProviderType, baseUrl: string, key: string): ProviderAccount => ({
  name: type,
  type,
  baseUrl,
  key,
  headers: {},
  timeouts: { connectMs: 2000, firstByteMs: 5000, totalMs: 10000 },
});
const target = () => ({
  gemini: { model: 'gemini-3-pro-preview', account: account('gemini', ge.url, 'AIza-test-key-0123456789abcdefghij') },
  anthropic: { model: 'claude-sonnet-4-20250514', account: account('anthropic', an.url, 'sk-ant-test') },
});

async function send(req: ChatRequest, to: keyof ReturnType<typeof target>) {
  const t = target()[to];
  return transport.sendChat(providers[t.account.type]!, t.account, req, { model: t.model, id: 'chatcmpl-rt', created: 1700000000 });
}

/** What the /v1/messages route will do, minus HTTP: translate, send, encode. */
async function messagesVia(to: 'gemini' | 'anthropic', body: MessagesRequest): Promise<Response> {
  const result = await send(anthropicToChatRequest(body), to);
  if (result.kind === 'json') return Response.json(chatToAnthropicMessage(result.response, { showThinking: wantsThinking(body) }));
  const enc = anthropicStreamEncoder({ id: 'chatcmpl-rt', model: body.model, showThinking: wantsThinking(body) });
  let sse = '';
  for await (const c of result.chunks) sse += enc.push(c).map(formatAnthropicSse).join('');
  sse += enc.end().map(formatAnthropicSse).join('');
  return new Response(sse, { headers: { 'content-type': 'text/event-stream' } });
}

/** What the /v1/responses route will do, minus HTTP and storage. */
async function responsesVia(to: 'gemini' | 'anthropic', body: ResponsesRequest): Promise<Response> {
  const result = await send(responsesToChatRequest(body), to);
  const ctx = { id: 'resp_rt', createdAt: 1700000000 };
  if (result.kind === 'json') return Response.json(chatToResponse(result.response, body, ctx));
  const enc = responsesStreamEncoder(body, ctx);
  let sse = '';
  for await (const c of result.chunks) sse += enc.push(c).map(formatResponsesSse).join('');
  sse += enc.end().map(formatResponsesSse).join('');
  return new Response(sse, { headers: { 'content-type': 'text/event-stream' } });
}

const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

test('Anthropic SDK → Gemini 3, streamed: the thought signature rides in a thinking block and comes back on the functionCall', async () => {
  const client = new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: async (_url, init) => messagesVia('gemini', JSON.parse(String(init!.body))) });
  geminiReply = () => ({
    sse: [
      {
        candidates: [
          {
            index: 0,
            finishReason: 'STOP',
            content: {
              role: 'model',
              parts: [
                { text: 'Rome, then.', thought: true },
                { functionCall: { name: 'get_weather', args: { city: 'Rome' } }, thoughtSignature: 'U0lHLVJPTUU=' },
              ],
            },
          },
        ],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 3, totalTokenCount: 12 },
      },
    ],
  });
  const params = { model: 'claude-via-gemini', max_tokens: 2000, tools: [weather], thinking: { type: 'enabled' as const, budget_tokens: 1024 } };
  const history: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Rome?' }];
  const first = await client.messages.stream({ ...params, messages: history }).finalMessage();
  assert.deepEqual(
    first.content.map((b) => b.type),
    ['thinking', 'thinking', 'tool_use'],
  );
  assert.equal((first.content[0] as Anthropic.ThinkingBlock).thinking, 'Rome, then.');
  assert.equal(first.stop_reason, 'tool_use');

  geminiReply = () => ({ json: textResponse('Warm and sunny.') });
  const toolUse = first.content[2] as Anthropic.ToolUseBlock;
  const second = await client.messages.create({
    ...params,
    messages: [
      ...history,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '25°C' }] },
    ],
  });
  assert.deepEqual(second.content, [{ type: 'text', text: 'Warm and sunny.', citations: null }]);
  const sent = ge.requests.at(-1)!.body.contents[1].parts;
  assert.deepEqual(sent, [{ functionCall: { name: 'get_weather', args: { city: 'Rome' } }, thoughtSignature: 'U0lHLVJPTUU=' }]);
});

test('openai Responses SDK → Anthropic with reasoning: signed thinking rides in encrypted_content and satisfies Anthropic on the tool turn', async () => {
  const client = new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: async (_url, init) => responsesVia('anthropic', JSON.parse(String(init!.body))) });
  anthropicReply = () => ({
    message: {
      content: [
        { type: 'thinking', thinking: 'Use the tool.' },
        { type: 'tool_use', id: 'toolu_rt', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    },
  });
  const tools = [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
  const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Oslo?' }];
  const first = await client.responses.stream({ model: 'codex-via-claude', input, tools, reasoning: { effort: 'low' } }).finalResponse();
  assert.deepEqual(
    first.output.map((o) => o.type),
    ['reasoning', 'function_call'],
  );
  assert.deepEqual((first.output[0] as OpenAI.Responses.ResponseReasoningItem).summary, [{ type: 'summary_text', text: 'Use the tool.' }]);

  anthropicReply = () => textReply('Cold.');
  const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
  const next: OpenAI.Responses.ResponseInput = [
    ...input,
    ...(first.output as OpenAI.Responses.ResponseInputItem[]),
    { type: 'function_call_output', call_id: call.call_id, output: '-3°C' },
  ];
  const second = await client.responses.create({ model: 'codex-via-claude', input: next, tools, reasoning: { effort: 'low' } });
  assert.equal(second.output_text, 'Cold.');
  const assistant = an.requests.at(-1)!.body.messages[1].content;
  assert.deepEqual(assistant[0], { type: 'thinking', thinking: 'Use the tool.', signature: fakeSignature('Use the tool.') });
});
