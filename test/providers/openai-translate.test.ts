// Table-driven tests of the OpenAI wire translation: request body and headers, response, stream events and error bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { UpstreamError, type UpstreamFailureKind } from '../../src/core/errors.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';
import { fromOpenAIError, fromOpenAIResponse, openai, openaiStreamTranslator, toOpenAIRequest } from '../../src/providers/openai/index.ts';

const ctx = { model: 'gpt-4o-2024-08-06', id: 'chatcmpl-ctx', created: 1700000000 };
const account = (over: Partial<ProviderAccount> = {}): ProviderAccount => ({
  name: 'o',
  type: 'openai',
  baseUrl: '',
  key: 'sk-test',
  headers: {},
  timeouts: { connectMs: 1, firstByteMs: 1, totalMs: 1 },
  ...over,
});
const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'client-model', messages: [{ role: 'user', content: 'hi' }], ...over });
const tool = { type: 'function' as const, function: { name: 'get', parameters: { type: 'object', properties: {} } } };

/** Fields both APIs share: the request carries them upstream unchanged. */
const openaiFields = {
  temperature: 0.3,
  top_p: 0.9,
  seed: 7,
  stop: ['x'],
  n: 2,
  logit_bias: { 50256: -100 },
  user: 'u',
  tools: [tool],
  tool_choice: 'required',
  parallel_tool_calls: false,
  response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } },
  max_completion_tokens: 9,
} satisfies Partial<ChatRequest>;

const requestCases: { name: string; req: Partial<ChatRequest>; expect: Record<string, unknown> }[] = [
  { name: "the target model replaces the client's", req: {}, expect: { model: 'gpt-4o-2024-08-06', messages: [{ role: 'user', content: 'hi' }] } },
  { name: 'flowrouter options never reach the upstream', req: { flowrouter: { cache: false } }, expect: { flowrouter: undefined } },
  { name: 'OpenAI fields pass through untouched', req: structuredClone(openaiFields), expect: openaiFields },
  { name: 'a stream asks for usage so it can be recorded', req: { stream: true }, expect: { stream: true, stream_options: { include_usage: true } } },
  {
    name: 'a client that asked for usage keeps its stream_options',
    req: { stream: true, stream_options: { include_usage: true } },
    expect: { stream_options: { include_usage: true } },
  },
  {
    name: 'a client that declined usage is respected',
    req: { stream: true, stream_options: { include_usage: false } },
    expect: { stream_options: { include_usage: false } },
  },
  { name: 'a non-streaming request gets no stream_options', req: {}, expect: { stream_options: undefined } },
];

for (const c of requestCases) {
  test(`request: ${c.name}`, () => {
    const spec = toOpenAIRequest(req(c.req), ctx, account());
    assert.equal(spec.method, 'POST');
    assert.equal(spec.path, '/chat/completions');
    const body = spec.body as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(body[k], v, k);
  });
}

const headerCases: { name: string; account: Partial<ProviderAccount>; expect: Record<string, string | undefined> }[] = [
  { name: 'a key is sent as Bearer', account: {}, expect: { authorization: 'Bearer sk-test', 'content-type': 'application/json' } },
  { name: 'no key, no authorization (local servers)', account: { key: undefined }, expect: { authorization: undefined } },
  {
    name: 'organization and project headers',
    account: { org: 'org-1', project: 'proj-1' },
    expect: { 'openai-organization': 'org-1', 'openai-project': 'proj-1' },
  },
  { name: "the account's extra headers are added", account: { headers: { 'x-team': 'a' } }, expect: { 'x-team': 'a' } },
];

for (const c of headerCases) {
  test(`headers: ${c.name}`, () => {
    const { headers } = toOpenAIRequest(req(), ctx, account(c.account));
    for (const [k, v] of Object.entries(c.expect)) assert.equal(headers[k], v, k);
  });
}

test('embeddings, legacy completions and the health probe use their own paths with the same headers', () => {
  const a = account({ org: 'org-1' });
  const emb = openai.embeddings!.request({ model: 'x', input: 'hello' }, ctx, a);
  assert.deepEqual([emb.method, emb.path, emb.body], ['POST', '/embeddings', { model: ctx.model, input: 'hello' }]);
  const cmp = openai.completions!.request({ model: 'x', prompt: 'p' }, ctx, a);
  assert.deepEqual([cmp.path, (cmp.body as { model: string }).model], ['/completions', ctx.model]);
  const probe = openai.probe!(a);
  assert.deepEqual(
    [probe.method, probe.path, probe.headers.authorization, probe.headers['openai-organization']],
    ['GET', '/models', 'Bearer sk-test', 'org-1'],
  );
});

const toolCall = { id: 'call_1', type: 'function' as const, function: { name: 'get', arguments: '{"a":1}' } };
const responseCases: { name: string; body: unknown; expect: Record<string, unknown> }[] = [
  {
    name: 'a full response passes through with its own id, model and usage',
    body: {
      id: 'chatcmpl-up',
      object: 'chat.completion',
      created: 5,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hey' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: { cached_tokens: 2 } },
      system_fingerprint: 'fp',
    },
    expect: {
      id: 'chatcmpl-up',
      created: 5,
      model: 'gpt-4o-mini',
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: { cached_tokens: 2 } },
      system_fingerprint: 'fp',
    },
  },
  {
    name: 'missing id, created and model come from the context; object is set',
    body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }] },
    expect: { id: 'chatcmpl-ctx', created: 1700000000, model: 'gpt-4o-2024-08-06', object: 'chat.completion' },
  },
  {
    name: 'tool calls and their finish reason are kept',
    body: { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [toolCall] }, finish_reason: 'tool_calls' }] },
    expect: { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [toolCall] }, finish_reason: 'tool_calls' }] },
  },
];

for (const c of responseCases) {
  test(`response: ${c.name}`, () => {
    const res = fromOpenAIResponse(c.body, ctx) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(res[k], v, k);
  });
}

const responseErrors: { name: string; body: unknown; kind: UpstreamFailureKind }[] = [
  { name: 'a body without choices is a protocol failure', body: { object: 'chat.completion' }, kind: 'protocol' },
  // Without an HTTP status to go by, an in-band error counts as the upstream's failure (500), so the chain goes on.
  {
    name: 'an error object in a 200 body is a server failure',
    body: { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } },
    kind: 'server',
  },
];

for (const c of responseErrors) {
  test(`response: ${c.name}`, () => {
    assert.throws(
      () => fromOpenAIResponse(c.body, ctx),
      (err: unknown) => err instanceof UpstreamError && err.kind === c.kind,
    );
  });
}

const data = (o: unknown) => ({ data: typeof o === 'string' ? o : JSON.stringify(o) });
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 9,
  model: 'gpt-4o',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const usageChunk = {
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 9,
  model: 'gpt-4o',
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
};

function run(events: { data: string }[], r: ChatRequest = req({ stream: true })) {
  const t = openaiStreamTranslator(r, ctx);
  const chunks: ChatChunk[] = [];
  for (const e of events) chunks.push(...t.push(e));
  chunks.push(...t.end());
  return { chunks, finished: t.finished };
}

test('stream: chunks pass through in order and [DONE] ends the stream', () => {
  const { chunks, finished } = run([data(chunk({ role: 'assistant', content: '' })), data(chunk({ content: 'Hi' })), data(chunk({}, 'stop')), data('[DONE]')]);
  assert.deepEqual(
    chunks.map((c) => [c.choices[0].delta.content, c.choices[0].finish_reason]),
    [
      ['', null],
      ['Hi', null],
      [undefined, 'stop'],
    ],
  );
  assert.equal(finished, true);
});

test('stream: without [DONE] the stream is not finished (a cut upstream is noticed)', () => {
  assert.equal(run([data(chunk({ content: 'Hi' }))]).finished, false);
});

test('stream: tool call deltas pass through with their indexes', () => {
  const { chunks } = run([
    data(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get', arguments: '' } }] })),
    data(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] })),
    data(chunk({}, 'tool_calls')),
    data('[DONE]'),
  ]);
  assert.deepEqual(
    chunks.map((c) => c.choices[0].delta.tool_calls?.[0].function?.arguments ?? c.choices[0].finish_reason),
    ['', '{"a":1}', 'tool_calls'],
  );
});

test('stream: usage the client asked for is passed on; usage asked for on its behalf is marked internal', () => {
  const asked = run([data(chunk({}, 'stop')), data(usageChunk), data('[DONE]')], req({ stream: true, stream_options: { include_usage: true } }));
  assert.deepEqual(asked.chunks.at(-1)!.usage, usageChunk.usage);
  assert.equal((asked.chunks.at(-1) as { flowrouter_internal_usage?: boolean }).flowrouter_internal_usage, undefined);
  const ours = run([data(chunk({}, 'stop')), data(usageChunk), data('[DONE]')]);
  assert.equal((ours.chunks.at(-1) as { flowrouter_internal_usage?: boolean }).flowrouter_internal_usage, true);
});

test('stream: missing id, created and model are filled from the context; blank events are skipped', () => {
  const { chunks } = run([data({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] }), data('  '), data('[DONE]')]);
  assert.equal(chunks.length, 1);
  assert.deepEqual(
    [chunks[0].id, chunks[0].created, chunks[0].model, chunks[0].object],
    ['chatcmpl-ctx', 1700000000, 'gpt-4o-2024-08-06', 'chat.completion.chunk'],
  );
});

const streamErrors: { name: string; event: { data: string }; kind: UpstreamFailureKind }[] = [
  { name: 'malformed JSON is a protocol failure', event: data('{"choices": ['), kind: 'protocol' },
  { name: 'an event without choices is a protocol failure', event: data({ id: 'x' }), kind: 'protocol' },
  {
    name: 'an in-band error is a server failure, whatever it says',
    event: data({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }),
    kind: 'server',
  },
];

for (const c of streamErrors) {
  test(`stream: ${c.name}`, () => {
    assert.throws(
      () => run([data(chunk({ content: 'a' })), c.event]),
      (err: unknown) => err instanceof UpstreamError && err.kind === c.kind,
    );
  });
}

const errorCases: {
  name: string;
  status: number;
  body: string;
  headers?: Record<string, string>;
  kind: UpstreamFailureKind;
  code?: string;
  retryAfterMs?: number;
}[] = [
  {
    name: '429 with retry-after',
    status: 429,
    body: '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}',
    headers: { 'retry-after': '3' },
    kind: 'rate_limit',
    retryAfterMs: 3000,
  },
  {
    name: '429 with retry-after-ms',
    status: 429,
    body: '{"error":{"message":"slow down"}}',
    headers: { 'retry-after-ms': '250' },
    kind: 'rate_limit',
    retryAfterMs: 250,
  },
  {
    name: "401 invalid key is the gateway's problem",
    status: 401,
    body: '{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}',
    kind: 'auth',
  },
  {
    name: '429 insufficient quota',
    status: 429,
    body: '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}',
    kind: 'rate_limit',
  },
  {
    name: '400 context length',
    status: 400,
    body: '{"error":{"message":"maximum context length is 8192 tokens","code":"context_length_exceeded"}}',
    kind: 'context_length',
    code: 'context_length_exceeded',
  },
  {
    name: "400 content policy is the client's",
    status: 400,
    body: '{"error":{"message":"Your request was rejected as a result of our safety system","code":"content_policy_violation"}}',
    kind: 'client',
    code: 'content_policy_violation',
  },
  {
    name: "404 unknown model is the client's",
    status: 404,
    body: '{"error":{"message":"The model `gpt-9` does not exist","code":"model_not_found"}}',
    kind: 'client',
    code: 'model_not_found',
  },
  { name: '503 overloaded', status: 503, body: '{"error":{"message":"The engine is currently overloaded"}}', kind: 'overloaded' },
  { name: '500 server error', status: 500, body: '{"error":{"message":"The server had an error"}}', kind: 'server' },
  { name: 'a non-JSON body keeps its text', status: 502, body: '<html>Bad gateway</html>', kind: 'server' },
];

for (const c of errorCases) {
  test(`error: ${c.name}`, () => {
    const err = fromOpenAIError(c.status, c.body, c.headers ?? {});
    assert.equal(err.kind, c.kind);
    assert.equal(err.upstreamStatus, c.status);
    if (c.code) assert.equal(err.code, c.code);
    if (c.retryAfterMs !== undefined) assert.equal(err.retryAfterMs, c.retryAfterMs);
    assert.match(err.message, new RegExp(`^upstream returned ${c.status}: `));
  });
}
