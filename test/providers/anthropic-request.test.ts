// Table-driven tests of the OpenAI → Anthropic request translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';
import {
  DEFAULT_MAX_TOKENS,
  FALLBACK_MAX_TOKENS,
  JSON_RESPONSE_TOOL,
  anthropicHeaders,
  defaultMaxTokens,
  toAnthropicBody,
  toAnthropicRequest,
} from '../../src/providers/anthropic/index.ts';

const MODEL = 'claude-3-5-sonnet-20241022';
const user = (content: ChatRequest['messages'][number]['content']) => ({ role: 'user' as const, content });
const call = (id: string, name: string, args: string) => ({ id, type: 'function' as const, function: { name, arguments: args } });
const PNG = 'iVBORw0KGgo=';

const cases: { name: string; req: Partial<ChatRequest>; expect: Record<string, unknown> }[] = [
  {
    name: 'system and developer messages anywhere become one top-level system, joined',
    req: {
      messages: [
        { role: 'system', content: 'A' },
        user('hi'),
        { role: 'developer', content: [{ type: 'text', text: 'B' }] },
        { role: 'assistant', content: 'yo' },
        { role: 'system', content: 'C' },
        user('again'),
      ],
    },
    expect: {
      system: 'A\n\nB\n\nC',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'yo' },
        { role: 'user', content: 'again' },
      ],
    },
  },
  {
    name: 'consecutive same-role messages are merged into one turn',
    req: { messages: [user('a'), user('b'), { role: 'assistant', content: 'c' }, { role: 'assistant', content: 'd' }] },
    expect: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'c' },
            { type: 'text', text: 'd' },
          ],
        },
      ],
    },
  },
  {
    name: 'assistant tool_calls become tool_use with parsed input; blank arguments become {}; results go in one user turn in call order',
    req: {
      messages: [
        user('weather?'),
        { role: 'assistant', content: 'checking', tool_calls: [call('t1', 'get', '{"city":"Oslo"}'), call('t2', 'now', ' ')] },
        { role: 'tool', tool_call_id: 't2', content: [{ type: 'text', text: '12:00' }] },
        { role: 'tool', tool_call_id: 't1', content: 'rain' },
        user('thanks'),
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'checking' },
            { type: 'tool_use', id: 't1', name: 'get', input: { city: 'Oslo' } },
            { type: 'tool_use', id: 't2', name: 'now', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: 'rain' },
            { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: '12:00' }] },
            { type: 'text', text: 'thanks' },
          ],
        },
      ],
    },
  },
  {
    name: 'images: data: URLs inline as base64, http(s) URLs by reference, text parts kept',
    req: {
      messages: [
        user([
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ]),
      ],
    },
    expect: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    },
  },
  {
    name: 'tools map to name/description/input_schema with a default object schema; tool_choice auto',
    req: {
      tools: [
        { type: 'function', function: { name: 'get', description: 'Get it', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
        { type: 'function', function: { name: 'ping' } },
      ],
      tool_choice: 'auto',
    },
    expect: {
      tools: [
        { name: 'get', description: 'Get it', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
        { name: 'ping', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'auto' },
    },
  },
  {
    name: 'tool_choice required → any',
    req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' },
    expect: { tool_choice: { type: 'any' } },
  },
  {
    name: 'tool_choice none → none',
    req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' },
    expect: { tool_choice: { type: 'none' } },
  },
  {
    name: 'named tool_choice → tool',
    req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } } },
    expect: { tool_choice: { type: 'tool', name: 'f' } },
  },
  {
    name: 'parallel_tool_calls false without tool_choice → auto with disable_parallel_tool_use',
    req: { tools: [{ type: 'function', function: { name: 'f' } }], parallel_tool_calls: false },
    expect: { tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
  },
  {
    name: 'parallel_tool_calls false goes inside an explicit tool_choice',
    req: { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required', parallel_tool_calls: false },
    expect: { tool_choice: { type: 'any', disable_parallel_tool_use: true } },
  },
  {
    name: 'tool_choice without tools is left out (Anthropic refuses it)',
    req: { tool_choice: 'auto', parallel_tool_calls: false },
    expect: { tools: undefined, tool_choice: undefined },
  },
  { name: 'max_tokens passes through', req: { max_tokens: 77 }, expect: { max_tokens: 77 } },
  { name: 'max_completion_tokens wins over max_tokens', req: { max_tokens: 77, max_completion_tokens: 99 }, expect: { max_tokens: 99 } },
  { name: 'missing max_tokens gets the model default', req: {}, expect: { max_tokens: 8192 } },
  { name: 'temperature above 1 is clamped to 1', req: { temperature: 1.7 }, expect: { temperature: 1 } },
  { name: 'negative temperature is clamped to 0', req: { temperature: -0.5 }, expect: { temperature: 0 } },
  { name: 'top_p passes through', req: { top_p: 0.9 }, expect: { top_p: 0.9 } },
  { name: 'stop string → stop_sequences', req: { stop: 'END' }, expect: { stop_sequences: ['END'] } },
  { name: 'stop array → stop_sequences', req: { stop: ['a', 'b'] }, expect: { stop_sequences: ['a', 'b'] } },
  { name: 'user → metadata.user_id', req: { user: 'u-42' }, expect: { metadata: { user_id: 'u-42' } } },
  {
    name: 'seed, penalties, logit_bias, OpenAI metadata and flowrouter fields are dropped',
    req: { seed: 3, presence_penalty: 1, frequency_penalty: 1, logit_bias: { 1: 2 }, metadata: { a: 'b' }, flowrouter: { cache: false }, n: 1 },
    expect: {
      seed: undefined,
      presence_penalty: undefined,
      frequency_penalty: undefined,
      logit_bias: undefined,
      metadata: undefined,
      flowrouter: undefined,
      n: undefined,
    },
  },
  { name: 'stream sets stream: true', req: { stream: true, stream_options: { include_usage: true } }, expect: { stream: true, stream_options: undefined } },
  {
    name: 'json_schema → a forced tool with the schema as input_schema',
    req: { response_format: { type: 'json_schema', json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' } } } } } },
    expect: {
      tools: [
        {
          name: JSON_RESPONSE_TOOL,
          description: 'Give your final answer by calling this tool; its input is the JSON response. Schema person',
          input_schema: { type: 'object', properties: { name: { type: 'string' } } },
        },
      ],
      tool_choice: { type: 'tool', name: JSON_RESPONSE_TOOL },
    },
  },
  {
    name: 'json_object → a forced tool with a permissive object schema',
    req: { response_format: { type: 'json_object' } },
    expect: {
      tools: [
        {
          name: JSON_RESPONSE_TOOL,
          description: 'Give your final answer by calling this tool; its input is the JSON response.',
          input_schema: { type: 'object', additionalProperties: true },
        },
      ],
      tool_choice: { type: 'tool', name: JSON_RESPONSE_TOOL },
    },
  },
  {
    name: 'json mode alongside client tools lets the model call any tool (client tool or the JSON answer)',
    req: { response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'f' } }] },
    expect: { tool_choice: { type: 'any' } },
  },
];

for (const c of cases) {
  test(`request: ${c.name}`, () => {
    const body = toAnthropicBody({ model: 'client-model', messages: [user('hi')], ...c.req }, MODEL) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(body[key], value, key);
  });
}

test('request: the body holds only fields the Messages API knows, with the target model', () => {
  const body = toAnthropicBody({ model: 'gpt-4o', messages: [user('hi')], seed: 1, user: 'u', temperature: 0.5, stop: 'x', top_p: 1 }, MODEL);
  assert.equal(body.model, MODEL);
  assert.deepEqual(Object.keys(body).sort(), ['max_tokens', 'messages', 'metadata', 'model', 'stop_sequences', 'temperature', 'top_p']);
});

const errorCases: { name: string; req: Partial<ChatRequest>; match: RegExp }[] = [
  {
    name: 'invalid JSON tool-call arguments name the tool call',
    req: { messages: [user('q'), { role: 'assistant', tool_calls: [call('call_9', 'get', '{oops')] }, { role: 'tool', tool_call_id: 'call_9', content: 'r' }] },
    match: /call_9 \(get\)/,
  },
  { name: 'n > 1 is unsupported', req: { n: 2 }, match: /n > 1/ },
  {
    name: 'a tool result for an unknown id',
    req: { messages: [user('q'), { role: 'assistant', tool_calls: [call('a', 'f', '{}')] }, { role: 'tool', tool_call_id: 'b', content: 'r' }] },
    match: /\bb\b.*answers no tool call/,
  },
  {
    name: 'two tool results for one id',
    req: {
      messages: [
        user('q'),
        { role: 'assistant', tool_calls: [call('a', 'f', '{}')] },
        { role: 'tool', tool_call_id: 'a', content: 'r' },
        { role: 'tool', tool_call_id: 'a', content: 's' },
      ],
    },
    match: /more than one/,
  },
  {
    name: 'a tool call left unanswered',
    req: {
      messages: [user('q'), { role: 'assistant', tool_calls: [call('a', 'f', '{}'), call('b', 'f', '{}')] }, { role: 'tool', tool_call_id: 'a', content: 'r' }],
    },
    match: /\bb has no tool message/,
  },
  {
    name: 'a tool message not following an assistant tool call',
    req: { messages: [user('q'), { role: 'tool', tool_call_id: 'a', content: 'r' }] },
    match: /does not follow/,
  },
  { name: 'only system messages', req: { messages: [{ role: 'system', content: 's' }] }, match: /at least one/ },
  {
    name: 'an image URL that is neither http(s) nor data:',
    req: { messages: [user([{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }])] },
    match: /image_url/,
  },
  {
    name: 'a non-object json_schema',
    req: { response_format: { type: 'json_schema', json_schema: { name: 'list', schema: { type: 'array' } } } },
    match: /object schema/,
  },
  {
    name: 'a client tool using the reserved JSON tool name',
    req: { tools: [{ type: 'function', function: { name: JSON_RESPONSE_TOOL } }] },
    match: /reserved/,
  },
];

for (const c of errorCases) {
  test(`request: ClientError 400 for ${c.name}`, () => {
    assert.throws(
      () => toAnthropicBody({ model: 'm', messages: [user('hi')], ...c.req }, MODEL),
      (err: unknown) => err instanceof ClientError && err.status === 400 && c.match.test(err.message),
    );
  });
}

test('request: default max_tokens per model family, longest prefix first, fallback for unknown models', () => {
  const table: [string, number][] = [
    ['claude-3-opus-20240229', 4096],
    ['claude-3-haiku-20240307', 4096],
    ['claude-3-5-haiku-latest', 8192],
    ['claude-3-7-sonnet-20250219', 64000],
    ['claude-sonnet-4-20250514', 64000],
    ['claude-opus-4-1-20250805', 32000],
    ['claude-opus-4-5-20251101', 64000],
    ['some-future-model', FALLBACK_MAX_TOKENS],
  ];
  for (const [model, max] of table) assert.equal(defaultMaxTokens(model), max, model);
  assert.equal(DEFAULT_MAX_TOKENS['claude-3-5-sonnet'], 8192);
});

const account = (over: Partial<ProviderAccount> = {}): ProviderAccount => ({
  name: 'a',
  type: 'anthropic',
  baseUrl: '',
  key: 'sk-ant-test',
  headers: { 'anthropic-beta': 'x' },
  timeouts: { connectMs: 1, firstByteMs: 1, totalMs: 1 },
  ...over,
});

test('request: POST /messages with x-api-key, anthropic-version (default 2023-06-01), content-type and account headers', () => {
  const spec = toAnthropicRequest({ model: 'm', messages: [user('hi')] }, { model: MODEL, id: 'id', created: 1 }, account());
  assert.equal(spec.method, 'POST');
  assert.equal(spec.path, '/messages');
  assert.deepEqual(spec.headers, { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'x', 'x-api-key': 'sk-ant-test' });
  assert.equal(anthropicHeaders(account({ apiVersion: '2024-01-01' }))['anthropic-version'], '2024-01-01');
  assert.equal(anthropicHeaders(account({ key: undefined }))['x-api-key'], undefined);
});
