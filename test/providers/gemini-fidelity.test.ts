// Nothing lost on the way to and from Gemini: thought signatures, reasoning, files, thinking knobs, one call when asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage, ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import { fromGeminiResponse, geminiStreamTranslator, toGeminiBody } from '../../src/providers/gemini/index.ts';
import { SKIP_THOUGHT_SIGNATURE } from '../../src/providers/gemini/thinking.ts';

const ctx = { model: 'gemini-3-pro-preview', id: 'chatcmpl-g', created: 1 };
const req = (messages: ChatMessage[], extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'x', messages, ...extra });
const call = (id: string, name: string, signature?: string) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: '{}' },
  ...(signature ? { extra_content: { google: { thought_signature: signature } } } : {}),
});
const fcPart = (name: string, thoughtSignature?: string) => ({ functionCall: { name, args: { a: 1 } }, ...(thoughtSignature ? { thoughtSignature } : {}) });
const toolTurn = (calls: ReturnType<typeof call>[]): ChatMessage[] => [
  { role: 'user', content: 'go' },
  { role: 'assistant', content: null, tool_calls: calls },
  ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: 'ok' })),
];

test("gemini: a function call's thought signature comes back in tool_calls[].extra_content.google, and a text part's on the message", () => {
  const res = fromGeminiResponse(
    { candidates: [{ finishReason: 'STOP', content: { parts: [{ text: 'plan', thought: true }, fcPart('a', 'SIG-A'), fcPart('b')] } }] },
    ctx,
  );
  const m = res.choices[0].message;
  assert.deepEqual(
    m.tool_calls!.map((t) => t.extra_content),
    [{ google: { thought_signature: 'SIG-A' } }, undefined],
  );
  assert.equal(m.reasoning_content, 'plan');
  const text = fromGeminiResponse(
    { candidates: [{ finishReason: 'STOP', content: { parts: [{ text: 'Hi' }, { text: '', thoughtSignature: 'SIG-T' }] } }] },
    ctx,
  );
  assert.deepEqual(text.choices[0].message.extra_content, { google: { thought_signature: 'SIG-T' } });
});

test('gemini: streamed function calls carry their signature in the tool-call delta', () => {
  const t = geminiStreamTranslator(req([{ role: 'user', content: 'x' }], { stream: true }), ctx);
  const chunks = t.push({ data: JSON.stringify({ candidates: [{ index: 0, finishReason: 'STOP', content: { parts: [fcPart('a', 'SIG-A')] } }] }) });
  assert.deepEqual(chunks[0].choices[0].delta.tool_calls![0].extra_content, { google: { thought_signature: 'SIG-A' } });
});

test('gemini: signatures go back on the functionCall parts they came with, and on the last text part', () => {
  const body = toGeminiBody(
    req([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'ok', extra_content: { google: { thought_signature: 'SIG-T' } }, tool_calls: [call('c1', 'a', 'SIG-A'), call('c2', 'b')] },
      { role: 'tool', tool_call_id: 'c1', content: '1' },
      { role: 'tool', tool_call_id: 'c2', content: '2' },
    ]),
    ctx.model,
  );
  assert.deepEqual(body.contents[1].parts, [
    { text: 'ok', thoughtSignature: 'SIG-T' },
    { ...fcPart('a', 'SIG-A'), functionCall: { name: 'a', args: {} } },
    { functionCall: { name: 'b', args: {} } },
  ]);
});

test("gemini: for Gemini 3 an unsigned call turn gets Google's skip-validation signature on its first call; older models and signed turns are left alone", () => {
  const unsigned = toolTurn([call('c1', 'a'), call('c2', 'b')]);
  assert.deepEqual(
    toGeminiBody(req(unsigned), 'gemini-3-pro-preview').contents[1].parts.map((p) => p.thoughtSignature),
    [SKIP_THOUGHT_SIGNATURE, undefined],
  );
  assert.deepEqual(
    toGeminiBody(req(unsigned), 'gemini-flash-latest').contents[1].parts.map((p) => p.thoughtSignature),
    [SKIP_THOUGHT_SIGNATURE, undefined],
  );
  assert.deepEqual(
    toGeminiBody(req(unsigned), 'gemini-2.5-flash').contents[1].parts.map((p) => p.thoughtSignature),
    [undefined, undefined],
  );
  const signed = toolTurn([call('c1', 'a'), call('c2', 'b', 'SIG-B')]);
  assert.deepEqual(
    toGeminiBody(req(signed), 'gemini-3-pro-preview').contents[1].parts.map((p) => p.thoughtSignature),
    [undefined, 'SIG-B'],
  );
});

test('gemini: parallel_tool_calls false keeps only the first call, in JSON and in a stream', () => {
  const body = { candidates: [{ finishReason: 'STOP', content: { parts: [fcPart('a'), fcPart('b')] } }] };
  const one = req([{ role: 'user', content: 'x' }], { parallel_tool_calls: false });
  assert.deepEqual(
    fromGeminiResponse(body, ctx, one).choices[0].message.tool_calls!.map((t) => t.function.name),
    ['a'],
  );
  assert.deepEqual(
    fromGeminiResponse(body, ctx, req([{ role: 'user', content: 'x' }])).choices[0].message.tool_calls!.map((t) => t.function.name),
    ['a', 'b'],
  );
  const t = geminiStreamTranslator({ ...one, stream: true }, ctx);
  const names = [{ candidates: [{ content: { parts: [fcPart('a')] } }] }, { candidates: [{ finishReason: 'STOP', content: { parts: [fcPart('b')] } }] }]
    .flatMap((e) => t.push({ data: JSON.stringify(e) }))
    .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    .map((d) => d.function?.name);
  assert.deepEqual(names, ['a']);
});

const PDF = Buffer.from('%PDF-1.4').toString('base64');
test('gemini: files go inline with their media type or by URI, audio inline; a file id is refused with its position', () => {
  const body = toGeminiBody(
    req([
      {
        role: 'user',
        content: [
          { type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' } },
          { type: 'file', file: { file_data: PDF } },
          { type: 'file', file: { file_url: 'https://example.com/paper.pdf' } },
          { type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } },
        ],
      },
    ]),
  );
  assert.deepEqual(body.contents[0].parts, [
    { inlineData: { mimeType: 'application/pdf', data: PDF } },
    { inlineData: { mimeType: 'application/pdf', data: PDF } },
    { fileData: { mimeType: 'application/pdf', fileUri: 'https://example.com/paper.pdf' } },
    { inlineData: { mimeType: 'audio/wav', data: 'UklG' } },
  ]);
  assert.throws(
    () =>
      toGeminiBody(
        req([
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'file', file: { file_id: 'file-1' } },
            ],
          },
        ]),
      ),
    (e: unknown) => e instanceof ClientError && e.param === 'messages[0].content[1]' && /file_data/.test(e.message),
  );
});

test('gemini: thinking knobs — Anthropic thinking → budget with thoughts; reasoning_effort → level on Gemini 3, budget before; top_k → topK', () => {
  const user: ChatMessage[] = [{ role: 'user', content: 'x' }];
  assert.deepEqual(toGeminiBody(req(user, { thinking: { type: 'enabled', budget_tokens: 2048 } }), 'gemini-2.5-pro').generationConfig?.thinkingConfig, {
    thinkingBudget: 2048,
    includeThoughts: true,
  });
  assert.deepEqual(toGeminiBody(req(user, { reasoning_effort: 'low' }), 'gemini-3-pro-preview').generationConfig?.thinkingConfig, { thinkingLevel: 'low' });
  assert.deepEqual(toGeminiBody(req(user, { reasoning_effort: 'medium' }), 'gemini-2.5-flash').generationConfig?.thinkingConfig, { thinkingBudget: 8192 });
  assert.equal(toGeminiBody(req(user, { top_k: 20 })).generationConfig?.topK, 20);
});

test('gemini: a failed tool result is sent under error, as Google asks', () => {
  const body = toGeminiBody(
    req([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 'a')] },
      { role: 'tool', tool_call_id: 'c1', content: 'boom', is_error: true },
    ]),
  );
  assert.deepEqual(body.contents[2].parts[0].functionResponse, { name: 'a', response: { error: 'boom' } });
});
