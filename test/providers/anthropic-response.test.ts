// Table-driven tests of the Anthropic → OpenAI response translation and of error classification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamError } from '../../src/core/errors.ts';
import { JSON_RESPONSE_TOOL, fromAnthropicError, fromAnthropicResponse } from '../../src/providers/anthropic/index.ts';

const ctx = { model: 'claude-x', id: 'chatcmpl-ctx', created: 1700000000 };
const msg = (content: unknown[], stop_reason: string | null = 'end_turn', usage: Record<string, number> = { input_tokens: 10, output_tokens: 5 }) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-3-5-sonnet-20241022',
  content,
  stop_reason,
  stop_sequence: null,
  usage,
});

test('response: id and model from Anthropic, created from the context, text blocks joined, usage mapped', () => {
  const res = fromAnthropicResponse(
    msg([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
    ]),
    ctx,
  );
  assert.deepEqual(res, {
    id: 'msg_1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'claude-3-5-sonnet-20241022',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } },
  });
});

test('response: tool_use blocks become tool_calls with JSON arguments; thinking stays out of content, kept verbatim in thinking_blocks', () => {
  const res = fromAnthropicResponse(
    msg(
      [
        { type: 'thinking', thinking: 'secret reasoning', signature: 's' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get', input: { city: 'Oslo' } },
        { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
      ],
      'tool_use',
    ),
    ctx,
  );
  assert.deepEqual(res.choices[0].message, {
    role: 'assistant',
    content: 'Let me check.',
    tool_calls: [
      { id: 'toolu_1', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
      { id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } },
    ],
    reasoning_content: 'secret reasoning',
    thinking_blocks: [{ type: 'thinking', thinking: 'secret reasoning', signature: 's' }],
  });
  assert.equal(res.choices[0].finish_reason, 'tool_calls');
});

test('response: only tool calls gives null content', () => {
  const res = fromAnthropicResponse(msg([{ type: 'tool_use', id: 't', name: 'f', input: {} }], 'tool_use'), ctx);
  assert.equal(res.choices[0].message.content, null);
});

const stops: [string | null, string][] = [
  ['end_turn', 'stop'],
  ['stop_sequence', 'stop'],
  ['max_tokens', 'length'],
  ['refusal', 'content_filter'],
  ['pause_turn', 'stop'],
  ['model_context_window_exceeded', 'length'],
  [null, 'stop'],
];
for (const [stop, finish] of stops) {
  test(`response: stop_reason ${stop} → finish_reason ${finish}`, () => {
    assert.equal(fromAnthropicResponse(msg([{ type: 'text', text: 'x' }], stop), ctx).choices[0].finish_reason, finish);
  });
}

test('response: cache reads and writes count as prompt tokens, broken out as cached_tokens and cache_write_tokens', () => {
  const res = fromAnthropicResponse(
    msg([{ type: 'text', text: 'x' }], 'end_turn', { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 7 }),
    ctx,
  );
  assert.deepEqual(res.usage, {
    prompt_tokens: 130,
    completion_tokens: 7,
    total_tokens: 137,
    prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 },
  });
});

test('response: the JSON-response tool input becomes the content as a JSON string, finish_reason stop', () => {
  const res = fromAnthropicResponse(
    msg(
      [
        { type: 'text', text: 'Sure:' },
        { type: 'tool_use', id: 't', name: JSON_RESPONSE_TOOL, input: { name: 'Ada' } },
      ],
      'tool_use',
    ),
    ctx,
  );
  assert.deepEqual(res.choices[0].message, { role: 'assistant', content: '{"name":"Ada"}' });
  assert.equal(res.choices[0].finish_reason, 'stop');
});

test('response: an error body or a body without content is an UpstreamError', () => {
  assert.throws(
    () => fromAnthropicResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, ctx),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'overloaded',
  );
  assert.throws(
    () => fromAnthropicResponse({ id: 'x' }, ctx),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});

const body = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });
const errorCases: {
  name: string;
  status: number;
  type: string;
  message: string;
  headers?: Record<string, string>;
  kind: string;
  retryAfterMs?: number | null;
}[] = [
  { name: '529 overloaded_error is overloaded', status: 529, type: 'overloaded_error', message: 'Overloaded', kind: 'overloaded' },
  { name: 'overloaded_error under a plain 500 is still overloaded', status: 500, type: 'overloaded_error', message: 'Overloaded', kind: 'overloaded' },
  {
    name: '429 rate_limit_error keeps retry-after',
    status: 429,
    type: 'rate_limit_error',
    message: 'Number of requests has exceeded your rate limit',
    headers: { 'retry-after': '7' },
    kind: 'rate_limit',
    retryAfterMs: 7000,
  },
  { name: '500 api_error is a server failure', status: 500, type: 'api_error', message: 'Internal server error', kind: 'server' },
  { name: "400 invalid_request_error is the client's", status: 400, type: 'invalid_request_error', message: 'messages: roles must alternate', kind: 'client' },
  {
    name: '400 prompt too long is context_length',
    status: 400,
    type: 'invalid_request_error',
    message: 'prompt is too long: 250000 tokens > 200000 maximum',
    kind: 'context_length',
  },
  { name: '401 authentication_error is auth', status: 401, type: 'authentication_error', message: 'invalid x-api-key', kind: 'auth' },
];
for (const c of errorCases) {
  test(`error: ${c.name}`, () => {
    const err = fromAnthropicError(c.status, body(c.type, c.message), c.headers ?? {});
    assert.equal(err.kind, c.kind);
    assert.equal(err.upstreamStatus, c.status);
    assert.match(err.message, new RegExp(`anthropic returned ${c.status}: `));
    assert.ok(err.message.includes(c.message));
    if (c.retryAfterMs !== undefined) assert.equal(err.retryAfterMs, c.retryAfterMs);
  });
}
