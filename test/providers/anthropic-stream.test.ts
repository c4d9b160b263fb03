// Table-driven tests of the Anthropic SSE → OpenAI chunk translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import { JSON_RESPONSE_TOOL, anthropicStreamTranslator } from '../../src/providers/anthropic/index.ts';

const ctx = { model: 'claude-x', id: 'chatcmpl-ctx', created: 1700000000 };
const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, ...over });
const ev = (type: string, data: Record<string, unknown> = {}) => ({ event: type, data: JSON.stringify({ type, ...data }) });

const start = ev('message_start', {
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-3-5-sonnet',
    content: [],
    stop_reason: null,
    usage: { input_tokens: 25, cache_read_input_tokens: 5, cache_creation_input_tokens: 0, output_tokens: 1 },
  },
});
const textBlock = (index: number, ...texts: string[]) => [
  ev('content_block_start', { index, content_block: { type: 'text', text: '' } }),
  ...texts.map((text) => ev('content_block_delta', { index, delta: { type: 'text_delta', text } })),
  ev('content_block_stop', { index }),
];
const toolBlock = (index: number, id: string, name: string, ...parts: string[]) => [
  ev('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } }),
  ...parts.map((partial_json) => ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } })),
  ev('content_block_stop', { index }),
];
const end = (stop_reason: string) => [ev('message_delta', { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 15 } }), ev('message_stop')];

function run(events: { event: string; data: string }[], r: ChatRequest = req()) {
  const t = anthropicStreamTranslator(r, ctx);
  const chunks: ChatChunk[] = [];
  const finishedAt: boolean[] = [];
  for (const e of events) {
    chunks.push(...t.push(e));
    finishedAt.push(t.finished);
  }
  chunks.push(...t.end());
  return { chunks, finished: t.finished, finishedAt };
}
const deltas = (chunks: ChatChunk[]) => chunks.filter((c) => c.choices.length).map((c) => ({ ...c.choices[0].delta, finish: c.choices[0].finish_reason }));
const content = (chunks: ChatChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

test('stream: text — role chunk from message_start, text deltas, finish from message_delta; ping and message_stop handled', () => {
  const { chunks, finished, finishedAt } = run([start, ev('ping'), ...textBlock(0, 'Hel', 'lo'), ...end('end_turn')]);
  assert.deepEqual(deltas(chunks), [
    { role: 'assistant', content: '', finish: null },
    { content: 'Hel', finish: null },
    { content: 'lo', finish: null },
    { finish: 'stop' },
  ]);
  for (const c of chunks) {
    assert.equal(c.id, 'msg_1');
    assert.equal(c.model, 'claude-3-5-sonnet');
    assert.equal(c.created, 1700000000);
    assert.equal(c.object, 'chat.completion.chunk');
  }
  assert.equal(finished, true);
  assert.deepEqual(finishedAt, [false, false, false, false, false, false, false, true], 'finished only on message_stop');
});

test('stream: tool calls get their own index, separate from the content block index; arguments stream as deltas', () => {
  const { chunks } = run([
    start,
    ...textBlock(0, 'Checking.'),
    ...toolBlock(1, 'toolu_a', 'get', '', '{"city":', '"Oslo"}'),
    ...toolBlock(2, 'toolu_b', 'now', '{}'),
    ...end('tool_use'),
  ]);
  assert.deepEqual(deltas(chunks).slice(1), [
    { content: 'Checking.', finish: null },
    { tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'get', arguments: '' } }], finish: null },
    { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }], finish: null },
    { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }], finish: null },
    { tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'now', arguments: '' } }], finish: null },
    { tool_calls: [{ index: 1, function: { arguments: '{}' } }], finish: null },
    { finish: 'tool_calls' },
  ]);
});

test('stream: thinking streams as reasoning_content, then the whole signed block; redacted thinking comes whole; content stays the answer', () => {
  const { chunks } = run([
    start,
    ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'sec' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'ret' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig-1' } }),
    ev('content_block_stop', { index: 0 }),
    ev('content_block_start', { index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } }),
    ev('content_block_stop', { index: 1 }),
    ...textBlock(2, 'answer'),
    ...end('end_turn'),
  ]);
  assert.equal(content(chunks), 'answer');
  const reasoning = chunks.flatMap((c) => c.choices.map((x) => x.delta.reasoning_content ?? '')).join('');
  assert.equal(reasoning, 'secret');
  assert.deepEqual(
    chunks.flatMap((c) => c.choices.flatMap((x) => x.delta.thinking_blocks ?? [])),
    [
      { type: 'thinking', thinking: 'secret', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'opaque' },
    ],
  );
});

const stops: [string, string][] = [
  ['end_turn', 'stop'],
  ['stop_sequence', 'stop'],
  ['max_tokens', 'length'],
  ['refusal', 'content_filter'],
  ['pause_turn', 'stop'],
];
for (const [stop, finish] of stops) {
  test(`stream: stop_reason ${stop} → finish_reason ${finish}`, () => {
    const { chunks } = run([start, ...textBlock(0, 'x'), ...end(stop)]);
    assert.equal(deltas(chunks).at(-1)!.finish, finish);
  });
}

test('stream: usage chunk (choices: []) at message_stop, returned plainly when include_usage was set', () => {
  const { chunks } = run([start, ...textBlock(0, 'x'), ...end('end_turn')], req({ stream_options: { include_usage: true } }));
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, {
    prompt_tokens: 30,
    completion_tokens: 15,
    total_tokens: 45,
    prompt_tokens_details: { cached_tokens: 5, cache_write_tokens: 0 },
  });
  assert.equal(last.flowrouter_internal_usage, undefined);
});

test('stream: without include_usage the usage chunk is marked flowrouter_internal_usage', () => {
  const { chunks } = run([start, ...textBlock(0, 'x'), ...end('end_turn')]);
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.equal(last.flowrouter_internal_usage, true);
  assert.equal(last.usage?.completion_tokens, 15);
  assert.equal(chunks.filter((c) => c.usage).length, 1);
});

test('stream: JSON mode — the JSON-response tool input streams as content, text blocks are dropped, finish is stop', () => {
  const r = req({ response_format: { type: 'json_object' } });
  const { chunks } = run([start, ...textBlock(0, 'Sure'), ...toolBlock(1, 'toolu_j', JSON_RESPONSE_TOOL, '', '{"a":', '1}'), ...end('tool_use')], r);
  assert.equal(content(chunks), '{"a":1}');
  assert.ok(chunks.every((c) => !c.choices[0]?.delta.tool_calls));
  assert.equal(deltas(chunks).at(-1)!.finish, 'stop');
});

test('stream: JSON mode with an empty tool input still yields "{}"', () => {
  const { chunks } = run([start, ...toolBlock(0, 'toolu_j', JSON_RESPONSE_TOOL, ''), ...end('tool_use')], req({ response_format: { type: 'json_object' } }));
  assert.equal(content(chunks), '{}');
});

const inBand: [string, string][] = [
  ['overloaded_error', 'overloaded'],
  ['rate_limit_error', 'rate_limit'],
  ['api_error', 'server'],
  ['invalid_request_error', 'client'],
];
for (const [type, kind] of inBand) {
  test(`stream: an in-band ${type} event throws UpstreamError kind ${kind}`, () => {
    const t = anthropicStreamTranslator(req(), ctx);
    t.push(start);
    assert.throws(
      () => t.push(ev('error', { error: { type, message: 'Something happened' } })),
      (e: unknown) => e instanceof UpstreamError && e.kind === kind && /Something happened/.test(e.message),
    );
    assert.equal(t.finished, false);
  });
}

test('stream: a malformed event is a protocol error; unknown event types are ignored', () => {
  const t = anthropicStreamTranslator(req(), ctx);
  assert.deepEqual(t.push(ev('some_future_event', { x: 1 })), []);
  assert.throws(
    () => t.push({ event: 'content_block_delta', data: '{not json' }),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});

test('stream: without message_start the ids and model come from the context', () => {
  const { chunks } = run([...textBlock(0, 'x')]);
  assert.equal(chunks[0].id, 'chatcmpl-ctx');
  assert.equal(chunks[0].model, 'claude-x');
});
