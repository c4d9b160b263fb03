// Table-driven tests of the Azure OpenAI translation: deployment paths, api-version, api-key, and Azure's own response shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';
import { AZURE_DEFAULT_API_VERSION, azure } from '../../src/providers/azure/index.ts';

const ctx = { model: 'gpt-4o', id: 'chatcmpl-ctx', created: 1700000000 };
const account = (over: Partial<ProviderAccount> = {}): ProviderAccount => ({
  name: 'az',
  type: 'azure',
  baseUrl: 'https://res.openai.azure.com',
  key: 'azure-key',
  headers: {},
  timeouts: { connectMs: 1, firstByteMs: 1, totalMs: 1 },
  ...over,
});
const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'client-model', messages: [{ role: 'user', content: 'hi' }], ...over });

const pathCases: { name: string; account: Partial<ProviderAccount>; model?: string; path: string }[] = [
  {
    name: 'the target model is the deployment, with the default api-version',
    account: {},
    path: `/openai/deployments/gpt-4o/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`,
  },
  {
    name: 'a configured deployment and api_version win',
    account: { deployment: 'prod-4o', apiVersion: '2025-01-01-preview' },
    path: '/openai/deployments/prod-4o/chat/completions?api-version=2025-01-01-preview',
  },
  {
    name: 'deployment names are escaped in the path',
    account: { deployment: 'my dep/1' },
    path: `/openai/deployments/my%20dep%2F1/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`,
  },
];

for (const c of pathCases) {
  test(`request path: ${c.name}`, () => {
    assert.equal(azure.chat.request(req(), ctx, account(c.account)).path, c.path);
  });
}

test('request: the key goes in api-key, never as Bearer; OpenAI org headers are not sent; extra headers are', () => {
  const { headers, method } = azure.chat.request(req(), ctx, account({ org: 'org-1', headers: { 'x-ms-client-request-id': 'r1' } }));
  assert.equal(method, 'POST');
  assert.deepEqual(headers, { 'content-type': 'application/json', 'x-ms-client-request-id': 'r1', 'api-key': 'azure-key' });
});

test("request: the body is OpenAI's — target model, no flowrouter field, usage asked for on streams", () => {
  const body = azure.chat.request(req({ stream: true, temperature: 0.2, flowrouter: { cache: false } }), ctx, account()).body as Record<string, unknown>;
  assert.deepEqual(body, {
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    temperature: 0.2,
    stream_options: { include_usage: true },
  });
});

test('embeddings and legacy completions go to their own deployment paths; Azure has no health probe', () => {
  const emb = azure.embeddings!.request({ model: 'x', input: ['a'] }, { ...ctx, model: 'text-embedding-3-small' }, account());
  assert.equal(emb.path, `/openai/deployments/text-embedding-3-small/embeddings?api-version=${AZURE_DEFAULT_API_VERSION}`);
  assert.equal((emb.body as { model: string }).model, 'text-embedding-3-small');
  assert.equal(
    azure.completions!.request({ model: 'x', prompt: 'p' }, ctx, account()).path,
    `/openai/deployments/gpt-4o/completions?api-version=${AZURE_DEFAULT_API_VERSION}`,
  );
  assert.equal(azure.probe, undefined);
  assert.equal(azure.defaultBaseUrl, '');
});

test("response: Azure's content filter results pass through with the answer", () => {
  const filters = { hate: { filtered: false, severity: 'safe' } };
  const res = azure.chat.response(
    {
      id: 'chatcmpl-az',
      object: 'chat.completion',
      created: 3,
      model: 'gpt-4o-2024-08-06',
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: filters }],
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', content_filter_results: filters }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    },
    ctx,
  ) as unknown as Record<string, any>;
  assert.equal(res.choices[0].message.content, 'ok');
  assert.deepEqual(res.prompt_filter_results, [{ prompt_index: 0, content_filter_results: filters }]);
  assert.deepEqual(res.choices[0].content_filter_results, filters);
});

test("stream: Azure's leading filter-results chunk (no choices, no usage) does not end or break the stream", () => {
  const t = azure.chat.stream(req({ stream: true }), ctx);
  const out: ChatChunk[] = [];
  const events = [
    { id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] },
    { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] },
    {
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o',
      choices: [{ index: 0, delta: {}, finish_reason: 'stop', content_filter_results: {} }],
    },
  ];
  for (const e of events) out.push(...t.push({ data: JSON.stringify(e) }));
  assert.equal(t.finished, false);
  out.push(...t.push({ data: '[DONE]' }));
  assert.equal(t.finished, true);
  assert.equal(out.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hi');
  assert.equal(out.at(-1)!.choices[0].finish_reason, 'stop');
});

const errorCases: { name: string; status: number; body: string; kind: string; code?: string }[] = [
  {
    name: "a wrong key (Azure's 401 body) is the gateway's problem",
    status: 401,
    body: '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}',
    kind: 'auth',
  },
  {
    name: "a missing deployment is the client's mistake",
    status: 404,
    body: '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}',
    kind: 'client',
  },
  {
    name: 'a content filter refusal is a content policy violation',
    status: 400,
    body: '{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI\'s content management policy.","code":"content_filter","status":400}}',
    kind: 'client',
    code: 'content_policy_violation',
  },
  {
    name: "429 from the resource's quota",
    status: 429,
    body: '{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}',
    kind: 'rate_limit',
  },
];

for (const c of errorCases) {
  test(`error: ${c.name}`, () => {
    const err = azure.error(c.status, c.body, {});
    assert.equal(err.kind, c.kind);
    if (c.code) assert.equal(err.code, c.code);
  });
}
