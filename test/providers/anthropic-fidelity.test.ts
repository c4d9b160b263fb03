// Nothing lost on the way to Anthropic: documents, thinking blocks, cache breakpoints, reasoning knobs and base URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage, ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';
import { toAnthropicBody, toAnthropicCountTokensRequest, toAnthropicRequest } from '../../src/providers/anthropic/index.ts';

const MODEL = 'claude-sonnet-4-20250514';
const user = (content: ChatMessage['content']): ChatMessage => ({ role: 'user', content });
const PDF = Buffer.from('%PDF-1.4 fake').toString('base64');
const body = (req: Partial<ChatRequest>) => toAnthropicBody({ model: 'm', messages: [user('hi')], ...req }, MODEL) as unknown as Record<string, any>;

const cases: { name: string; req: Partial<ChatRequest>; expect: Record<string, unknown> }[] = [
  {
    name: 'a PDF file part (data URL) becomes a base64 document block titled by its file name',
    req: {
      messages: [
        user([
          { type: 'text', text: 'sum up' },
          { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` } },
        ]),
      ],
    },
    expect: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'sum up' },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF }, title: 'a.pdf' },
          ],
        },
      ],
    },
  },
  {
    name: 'bare base64 file_data is a PDF; a text file becomes a plain-text document; a file URL a URL document',
    req: {
      messages: [
        user([
          { type: 'file', file: { file_data: PDF } },
          { type: 'file', file: { file_data: `data:text/markdown;base64,${Buffer.from('# hi').toString('base64')}` } },
          { type: 'file', file: { file_url: 'https://example.com/x.pdf' } },
        ]),
      ],
    },
    expect: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: '# hi' } },
            { type: 'document', source: { type: 'url', url: 'https://example.com/x.pdf' } },
          ],
        },
      ],
    },
  },
  {
    name: 'an image file part becomes an image block',
    req: { messages: [user([{ type: 'file', file: { file_data: 'data:image/png;base64,iVBOR' } }])] },
    expect: { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] }] },
  },
  {
    name: 'signed thinking blocks go first in the assistant turn, verbatim; unsigned reasoning is left out',
    req: {
      messages: [
        user('q'),
        {
          role: 'assistant',
          content: 'a',
          reasoning_content: 'mine',
          thinking_blocks: [
            { type: 'thinking', thinking: 'mine', signature: 'sig-1' },
            { type: 'thinking', thinking: 'unsigned', signature: '' },
            { type: 'redacted_thinking', data: 'zz' },
          ],
        },
        user('more'),
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'mine', signature: 'sig-1' },
            { type: 'redacted_thinking', data: 'zz' },
            { type: 'text', text: 'a' },
          ],
        },
        { role: 'user', content: 'more' },
      ],
    },
  },
  {
    name: 'cache_control on system parts makes system a list of blocks; on user parts and tools it stays on the block',
    req: {
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'big', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
        user([{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }]),
      ],
      tools: [{ type: 'function', function: { name: 'f' }, cache_control: { type: 'ephemeral' } }],
    },
    expect: {
      system: [{ type: 'text', text: 'big', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }] }],
      tools: [{ name: 'f', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } }],
    },
  },
  {
    name: 'a failed tool result keeps is_error',
    req: {
      messages: [
        user('q'),
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'boom', is_error: true },
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true }] },
      ],
    },
  },
  { name: 'top_k passes through', req: { top_k: 40 }, expect: { top_k: 40 } },
  {
    name: 'the client thinking setting passes through and drops the sampling knobs Anthropic refuses with it',
    req: { thinking: { type: 'enabled', budget_tokens: 2000 }, temperature: 0.3, top_k: 5, top_p: 0.5, max_tokens: 5000 },
    expect: { thinking: { type: 'enabled', budget_tokens: 2000 }, temperature: undefined, top_k: undefined, top_p: undefined },
  },
  {
    name: 'reasoning_effort becomes a thinking budget that fits under max_tokens',
    req: { reasoning_effort: 'high', max_tokens: 3000 },
    expect: { thinking: { type: 'enabled', budget_tokens: 2999 } },
  },
  {
    name: 'reasoning_effort with no room under max_tokens leaves thinking off',
    req: { reasoning_effort: 'low', max_tokens: 500 },
    expect: { thinking: undefined },
  },
  {
    name: 'with thinking on, a forced tool choice becomes auto (Anthropic refuses forced tools with thinking)',
    req: { reasoning_effort: 'medium', tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' },
    expect: { tool_choice: { type: 'auto' } },
  },
];

for (const c of cases) {
  test(`anthropic request: ${c.name}`, () => {
    const b = body(c.req);
    for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(b[key], value, key);
  });
}

const refusals: { name: string; req: Partial<ChatRequest>; match: RegExp; param: string }[] = [
  {
    name: 'audio content',
    req: { messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] },
    match: /input_audio/,
    param: 'messages[0].content[0]',
  },
  {
    name: 'a file by OpenAI file id',
    req: { messages: [user([{ type: 'file', file: { file_id: 'file-123' } }])] },
    match: /file_data/,
    param: 'messages[0].content[0]',
  },
  {
    name: 'a file type Anthropic cannot read',
    req: {
      messages: [
        user([
          { type: 'text', text: 'x' },
          { type: 'file', file: { file_data: 'data:application/zip;base64,UEs=' } },
        ]),
      ],
    },
    match: /application\/zip/,
    param: 'messages[0].content[1]',
  },
  {
    name: 'an image type Anthropic cannot read',
    req: { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }])] },
    match: /image\/bmp/,
    param: 'messages[0].content[0]',
  },
];

for (const c of refusals) {
  test(`anthropic request: a 400 naming the part for ${c.name}, never a silent drop`, () => {
    assert.throws(
      () => body(c.req),
      (err: unknown) => err instanceof ClientError && err.status === 400 && c.match.test(err.message) && err.param === c.param,
    );
  });
}

const account = (baseUrl: string): ProviderAccount => ({
  name: 'a',
  type: 'anthropic',
  baseUrl,
  key: 'k',
  headers: {},
  timeouts: { connectMs: 1, firstByteMs: 1, totalMs: 1 },
});
const ctx = { model: MODEL, id: 'id', created: 1 };

test('anthropic request: a base URL with or without a trailing /v1 reaches /v1/messages', () => {
  const req: ChatRequest = { model: 'm', messages: [user('hi')] };
  const table: [string, string][] = [
    ['', '/messages'],
    ['https://api.anthropic.com/v1', '/messages'],
    ['https://api.anthropic.com/v1/', '/messages'],
    ['https://api.anthropic.com', '/v1/messages'],
    ['https://proxy.example/anthropic', '/v1/messages'],
  ];
  for (const [base, path] of table) assert.equal(toAnthropicRequest(req, ctx, account(base)).path, path, base);
});

test('anthropic request: count_tokens gets the prompt (system, messages, tools, thinking) and nothing it refuses', () => {
  const spec = toAnthropicCountTokensRequest(
    {
      model: 'm',
      messages: [{ role: 'system', content: 's' }, user('hi')],
      max_tokens: 9,
      temperature: 0.2,
      stream: true,
      user: 'u',
      tools: [{ type: 'function', function: { name: 'f' } }],
      thinking: { type: 'enabled', budget_tokens: 1024 },
    },
    ctx,
    account('https://x.example'),
  );
  assert.equal(spec.path, '/v1/messages/count_tokens');
  assert.deepEqual(Object.keys(spec.body as object).sort(), ['messages', 'model', 'system', 'thinking', 'tools']);
});
