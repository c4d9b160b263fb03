// Table-driven tests of Gemini → OpenAI response, error and embeddings translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromGeminiResponse, fromGeminiError, fromGeminiEmbeddings, mapFinishReason } from '../../src/providers/gemini/index.ts';
import { UpstreamError } from '../../src/core/errors.ts';

const ctx = { model: 'gemini-2.5-flash', id: 'chatcmpl-9', created: 42 };

test('text parts join into content; thought parts become reasoning_content; usage maps with thoughts and cache', () => {
  const res = fromGeminiResponse(
    {
      candidates: [
        { index: 0, finishReason: 'STOP', content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'Hello' }, { text: ', world' }] } },
      ],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4, totalTokenCount: 18 },
    },
    ctx,
  );
  assert.deepEqual(res, {
    id: 'chatcmpl-9',
    object: 'chat.completion',
    created: 42,
    model: 'gemini-2.5-flash',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, world', reasoning_content: 'thinking…' }, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: 10,
      completion_tokens: 8,
      total_tokens: 18,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 3 },
    },
  });
});

test('functionCall parts become tool_calls with deterministic ids and finish_reason tool_calls despite STOP', () => {
  const res = fromGeminiResponse(
    {
      candidates: [
        {
          finishReason: 'STOP',
          content: {
            parts: [
              { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
              { functionCall: { name: 'now' } },
              { functionCall: { id: 'g-own', name: 'x', args: {} } },
            ],
          },
        },
      ],
    },
    ctx,
  );
  assert.deepEqual(res.choices[0], {
    index: 0,
    finish_reason: 'tool_calls',
    message: {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_chatcmpl-9_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { id: 'call_chatcmpl-9_1', type: 'function', function: { name: 'now', arguments: '{}' } },
        { id: 'g-own', type: 'function', function: { name: 'x', arguments: '{}' } },
      ],
    },
  });
  assert.equal(res.usage, undefined);
});

test('several candidates become choices by index', () => {
  const res = fromGeminiResponse(
    {
      candidates: [
        { index: 0, finishReason: 'STOP', content: { parts: [{ text: 'a' }] } },
        { index: 1, finishReason: 'MAX_TOKENS', content: { parts: [{ text: 'b' }] } },
      ],
    },
    ctx,
  );
  assert.deepEqual(
    res.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
    [
      [0, 'a', 'stop'],
      [1, 'b', 'length'],
    ],
  );
});

const finishCases: [string | undefined, boolean, string][] = [
  ['STOP', false, 'stop'],
  ['STOP', true, 'tool_calls'],
  ['MAX_TOKENS', false, 'length'],
  ['MAX_TOKENS', true, 'length'],
  ['SAFETY', false, 'content_filter'],
  ['RECITATION', false, 'content_filter'],
  ['BLOCKLIST', false, 'content_filter'],
  ['PROHIBITED_CONTENT', false, 'content_filter'],
  ['SPII', false, 'content_filter'],
  ['OTHER', false, 'stop'],
  ['MALFORMED_FUNCTION_CALL', false, 'stop'],
  [undefined, false, 'stop'],
];
for (const [reason, called, expected] of finishCases) {
  test(`finishReason ${reason}${called ? ' after a function call' : ''} → ${expected}`, () => assert.equal(mapFinishReason(reason, called), expected));
}

test('a blocked prompt (no candidates, promptFeedback.blockReason) is a content_filter choice with empty content', () => {
  const res = fromGeminiResponse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } }, ctx);
  assert.deepEqual(res.choices, [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }]);
  assert.deepEqual(res.usage, { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 });
});

test('a candidate without content (stopped by safety) gives empty content', () => {
  const res = fromGeminiResponse({ candidates: [{ finishReason: 'SAFETY' }] }, ctx);
  assert.deepEqual(res.choices[0].message, { role: 'assistant', content: '' });
});

const badBodies: { name: string; body: unknown; kind: string }[] = [
  { name: 'no candidates and no block reason', body: {}, kind: 'protocol' },
  { name: 'not an object', body: [1], kind: 'protocol' },
  { name: 'an error object in a 200 body', body: { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }, kind: 'overloaded' },
];
for (const c of badBodies) {
  test(`response body ${c.name} → UpstreamError ${c.kind}`, () => {
    assert.throws(
      () => fromGeminiResponse(c.body, ctx),
      (e: unknown) => e instanceof UpstreamError && e.kind === c.kind,
    );
  });
}

const g = (code: number, status: string, message: string, details?: unknown[]) =>
  JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } });
const errorCases: { name: string; status: number; body: string; headers?: Record<string, string>; kind: string; code?: string; retryMs?: number | null }[] = [
  {
    name: 'RESOURCE_EXHAUSTED 429',
    status: 429,
    body: g(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'),
    kind: 'rate_limit',
    code: 'RESOURCE_EXHAUSTED',
  },
  {
    name: 'RetryInfo retryDelay becomes retryAfterMs',
    status: 429,
    body: g(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '37s' }]),
    kind: 'rate_limit',
    retryMs: 37000,
  },
  {
    name: 'retry-after header wins over RetryInfo',
    status: 429,
    headers: { 'retry-after': '5' },
    body: g(429, 'RESOURCE_EXHAUSTED', 'Quota', [{ retryDelay: '37s' }]),
    kind: 'rate_limit',
    retryMs: 5000,
  },
  { name: 'UNAVAILABLE 503', status: 503, body: g(503, 'UNAVAILABLE', 'The service is currently unavailable.'), kind: 'overloaded' },
  { name: 'INTERNAL 500', status: 500, body: g(500, 'INTERNAL', 'An internal error has occurred.'), kind: 'server' },
  { name: 'DEADLINE_EXCEEDED 504', status: 504, body: g(504, 'DEADLINE_EXCEEDED', 'Deadline expired'), kind: 'timeout' },
  {
    name: 'INVALID_ARGUMENT 400',
    status: 400,
    body: g(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unknown name "foo"'),
    kind: 'client',
    code: 'INVALID_ARGUMENT',
  },
  {
    name: 'context too long',
    status: 400,
    body: g(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).'),
    kind: 'context_length',
    code: 'context_length_exceeded',
  },
  {
    name: 'invalid API key (400 API_KEY_INVALID) is auth, not client',
    status: 400,
    body: g(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' },
    ]),
    kind: 'auth',
    code: 'invalid_api_key',
  },
  { name: 'PERMISSION_DENIED 403', status: 403, body: g(403, 'PERMISSION_DENIED', 'Permission denied'), kind: 'auth' },
  { name: 'NOT_FOUND model 404', status: 404, body: g(404, 'NOT_FOUND', 'models/nope is not found for API version v1beta'), kind: 'client' },
  { name: 'array-wrapped error (stream endpoint without alt=sse)', status: 429, body: `[${g(429, 'RESOURCE_EXHAUSTED', 'Quota')}]`, kind: 'rate_limit' },
  { name: 'non-JSON body', status: 502, body: '<html>Bad Gateway</html>', kind: 'server' },
];
for (const c of errorCases) {
  test(`error: ${c.name} → ${c.kind}`, () => {
    const e = fromGeminiError(c.status, c.body, c.headers ?? {});
    assert.ok(e instanceof UpstreamError);
    assert.equal(e.kind, c.kind);
    assert.equal(e.upstreamStatus, c.status);
    assert.match(e.message, /^gemini returned \d+: /);
    if (c.code) assert.equal(e.code, c.code);
    if (c.retryMs !== undefined) assert.equal(e.retryAfterMs, c.retryMs);
  });
}

test('a key-shaped string in an error message is masked', () => {
  const e = fromGeminiError(400, g(400, 'INVALID_ARGUMENT', 'bad key AIzaSyA1234567890abcdefghijklmnop'), {});
  assert.ok(!e.message.includes('AIzaSyA1234567890abcdefghijklmnop'));
});

test('embeddings: values → OpenAI list, usage 0 unless given; a missing list is a protocol error', () => {
  assert.deepEqual(fromGeminiEmbeddings({ embeddings: [{ values: [0.1, 0.2] }, { values: [0.3] }] }, ctx), {
    object: 'list',
    model: 'gemini-2.5-flash',
    usage: { prompt_tokens: 0, total_tokens: 0 },
    data: [
      { object: 'embedding', index: 0, embedding: [0.1, 0.2] },
      { object: 'embedding', index: 1, embedding: [0.3] },
    ],
  });
  assert.deepEqual(fromGeminiEmbeddings({ embeddings: [], usageMetadata: { promptTokenCount: 4 } }, ctx).usage, { prompt_tokens: 4, total_tokens: 4 });
  assert.throws(
    () => fromGeminiEmbeddings({}, ctx),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});
