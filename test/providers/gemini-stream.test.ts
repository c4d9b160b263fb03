// Tests of the Gemini SSE → OpenAI chunk stream translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiStreamTranslator } from '../../src/providers/gemini/index.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';

const ctx = { model: 'gemini-2.5-flash', id: 'chatcmpl-s', created: 7 };
const req = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra });

function run(events: unknown[], extra: Partial<ChatRequest> = {}): { chunks: ChatChunk[]; finished: boolean } {
  const t = geminiStreamTranslator(req(extra), ctx);
  const chunks = events.flatMap((e) => t.push({ data: typeof e === 'string' ? e : JSON.stringify(e) }));
  chunks.push(...t.end());
  return { chunks, finished: t.finished };
}
const text = (t: string, extra: Record<string, unknown> = {}) => ({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text: t }] }, ...extra }] });
const choices = (chunks: ChatChunk[]) => chunks.map((c) => c.choices[0] && { delta: c.choices[0].delta, finish: c.choices[0].finish_reason });

test('text stream: role on the first chunk, content deltas, finish, usage at the end when asked for', () => {
  const { chunks, finished } = run(
    [text('Hel'), text('lo', { finishReason: 'STOP' }), { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } }],
    { stream_options: { include_usage: true } },
  );
  assert.deepEqual(choices(chunks), [{ delta: { role: 'assistant', content: 'Hel' }, finish: null }, { delta: { content: 'lo' }, finish: 'stop' }, undefined]);
  for (const c of chunks) assert.deepEqual([c.id, c.object, c.created, c.model], ['chatcmpl-s', 'chat.completion.chunk', 7, 'gemini-2.5-flash']);
  assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  assert.deepEqual(chunks.at(-1)?.choices, []);
  assert.equal(chunks.at(-1)?.flowrouter_internal_usage, undefined);
  assert.equal(finished, true);
});

test('usage the client did not ask for is still emitted, marked internal', () => {
  const { chunks } = run([text('a', { finishReason: 'STOP' }), { usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }]);
  assert.equal(chunks.at(-1)?.flowrouter_internal_usage, true);
  assert.deepEqual(chunks.at(-1)?.choices, []);
});

test('the last usageMetadata wins', () => {
  const { chunks } = run([
    { ...text('a'), usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } },
    { ...text('b', { finishReason: 'STOP' }), usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, thoughtsTokenCount: 4, totalTokenCount: 7 } },
  ]);
  assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 1, completion_tokens: 6, total_tokens: 7, completion_tokens_details: { reasoning_tokens: 4 } });
});

test('function calls: one whole delta each, running tool index across chunks, finish tool_calls despite STOP', () => {
  const { chunks, finished } = run([
    { candidates: [{ content: { parts: [{ text: 'Checking.' }, { functionCall: { name: 'a', args: { x: 1 } } }] } }] },
    { candidates: [{ content: { parts: [{ functionCall: { name: 'b' } }] }, finishReason: 'STOP' }] },
  ]);
  assert.deepEqual(choices(chunks), [
    {
      delta: {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [{ index: 0, id: 'call_chatcmpl-s_0', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }],
      },
      finish: null,
    },
    { delta: { tool_calls: [{ index: 1, id: 'call_chatcmpl-s_1', type: 'function', function: { name: 'b', arguments: '{}' } }] }, finish: 'tool_calls' },
  ]);
  assert.equal(finished, true);
});

test('thought parts stream as reasoning_content, never as content', () => {
  const { chunks } = run([{ candidates: [{ content: { parts: [{ text: 'pondering', thought: true }] } }] }, text('answer', { finishReason: 'STOP' })]);
  assert.deepEqual(choices(chunks), [
    { delta: { role: 'assistant', reasoning_content: 'pondering' }, finish: null },
    { delta: { content: 'answer' }, finish: 'stop' },
  ]);
});

test('several candidates stream as separate choice indexes, each with its own role and finish', () => {
  const { chunks, finished } = run([
    {
      candidates: [
        { index: 0, content: { parts: [{ text: 'a' }] } },
        { index: 1, content: { parts: [{ text: 'b' }] } },
      ],
    },
    {
      candidates: [
        { index: 0, finishReason: 'STOP' },
        { index: 1, finishReason: 'MAX_TOKENS' },
      ],
    },
  ]);
  assert.deepEqual(
    chunks.map((c) => [c.choices[0].index, c.choices[0].delta, c.choices[0].finish_reason]),
    [
      [0, { role: 'assistant', content: 'a' }, null],
      [1, { role: 'assistant', content: 'b' }, null],
      [0, {}, 'stop'],
      [1, {}, 'length'],
    ],
  );
  assert.equal(finished, true);
});

const finishCases: [string, string][] = [
  ['MAX_TOKENS', 'length'],
  ['SAFETY', 'content_filter'],
  ['RECITATION', 'content_filter'],
  ['OTHER', 'stop'],
];
for (const [reason, expected] of finishCases) {
  test(`stream finishReason ${reason} → ${expected}`, () => {
    assert.equal(run([text('x', { finishReason: reason })]).chunks[0].choices[0].finish_reason, expected);
  });
}

test('a blocked prompt streams one content_filter choice and finishes', () => {
  const { chunks, finished } = run([{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } }]);
  assert.deepEqual(choices(chunks), [{ delta: { role: 'assistant', content: '' }, finish: 'content_filter' }]);
  assert.equal(finished, true);
});

test('a stream that ends without a finishReason is not finished (the transport reports it cut short)', () => {
  assert.equal(run([text('partial')]).finished, false);
  assert.equal(run([]).finished, false);
});

test('finished is reported only after end()', () => {
  const t = geminiStreamTranslator(req(), ctx);
  t.push({ data: JSON.stringify(text('x', { finishReason: 'STOP' })) });
  assert.equal(t.finished, false);
  t.end();
  assert.equal(t.finished, true);
});

test('an error object inside the stream throws a classified UpstreamError', () => {
  const t = geminiStreamTranslator(req(), ctx);
  t.push({ data: JSON.stringify(text('a')) });
  assert.throws(
    () => t.push({ data: JSON.stringify({ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }) }),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'rate_limit',
  );
  assert.throws(
    () => geminiStreamTranslator(req(), ctx).push({ data: JSON.stringify({ error: { message: 'boom' } }) }),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'server',
  );
});

test('malformed event data is a protocol error; blank data is ignored', () => {
  const t = geminiStreamTranslator(req(), ctx);
  assert.deepEqual(t.push({ data: '  ' }), []);
  assert.throws(
    () => t.push({ data: '{nope' }),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});
