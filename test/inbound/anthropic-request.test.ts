// Table tests of Anthropic Messages requests → the internal chat request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import { anthropicToChatRequest, type MessagesRequest } from '../../src/inbound/anthropic/index.ts';
import { packState } from '../../src/inbound/carrier.ts';

const PDF = Buffer.from('%PDF-1.4').toString('base64');
const base = (over: Partial<MessagesRequest>): MessagesRequest => ({
  model: 'claude-sonnet-4',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...over,
});

const cases: { name: string; body: Partial<MessagesRequest>; expect: Partial<ChatRequest> }[] = [
  {
    name: 'model, max_tokens (as max_completion_tokens), a string system and a string user message; marked as translated',
    body: { system: 'be brief' },
    expect: {
      model: 'claude-sonnet-4',
      max_completion_tokens: 100,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      flowrouter: { inbound: 'anthropic' },
    },
  },
  {
    name: 'system blocks join into one system text; with a cache breakpoint they stay parts that keep it',
    body: {
      system: [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b', cache_control: { type: 'ephemeral' } },
      ],
    },
    expect: {
      messages: [
        {
          role: 'system',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b', cache_control: { type: 'ephemeral' } },
          ],
        },
        { role: 'user', content: 'hi' },
      ],
    },
  },
  {
    name: 'images (base64 and URL) and documents (PDF, plain text, URL, inline content) become image and file parts',
    body: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
            { type: 'image', source: { type: 'url', url: 'https://x/cat.jpg' } },
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: PDF },
              title: 'paper.pdf',
              cache_control: { type: 'ephemeral' },
            },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
            { type: 'document', source: { type: 'url', url: 'https://x/doc.pdf' } },
            { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'inline chunk' }] } },
          ],
        },
      ],
    },
    expect: {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
            { type: 'image_url', image_url: { url: 'https://x/cat.jpg' } },
            { type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'paper.pdf' }, cache_control: { type: 'ephemeral' } },
            { type: 'file', file: { file_data: `data:text/plain;base64,${Buffer.from('plain words').toString('base64')}` } },
            { type: 'file', file: { file_url: 'https://x/doc.pdf' } },
            { type: 'text', text: 'inline chunk' },
          ],
        },
      ],
    },
  },
  {
    name: "assistant thinking (signed, redacted), text and tool_use; the next user turn's tool_results become tool messages before its text",
    body: {
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'need a tool', signature: 'SIG' },
            { type: 'redacted_thinking', data: 'RED' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get', input: { city: 'Oslo' } },
            { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'rain' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '12:00' }], is_error: true },
            { type: 'text', text: 'and tomorrow?' },
          ],
        },
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: 'Checking.',
          reasoning_content: 'need a tool',
          thinking_blocks: [
            { type: 'thinking', thinking: 'need a tool', signature: 'SIG' },
            { type: 'redacted_thinking', data: 'RED' },
          ],
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'rain' },
        { role: 'tool', tool_call_id: 'toolu_2', content: '12:00', is_error: true },
        { role: 'user', content: 'and tomorrow?' },
      ],
    },
  },
  {
    name: "a thinking block with no signature (another model's reasoning) only adds reasoning_content; a Flow Router state block restores Gemini signatures",
    body: {
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'musing', signature: '' },
            { type: 'thinking', thinking: '', signature: packState({ google_calls: { c1: 'G-SIG' }, google_text: 'T-SIG' }) },
            { type: 'tool_use', id: 'c1', name: 'f', input: {} },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: 'ok' }] },
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'musing',
          extra_content: { google: { thought_signature: 'T-SIG' } },
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: { google: { thought_signature: 'G-SIG' } } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
    },
  },
  {
    name: 'tools, tool_choice any with parallel use disabled, stop_sequences, sampling, metadata.user_id, thinking and a stream',
    body: {
      tools: [{ name: 'get', description: 'Get it', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'u-1' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
    },
    expect: {
      tools: [
        {
          type: 'function',
          function: { name: 'get', description: 'Get it', parameters: { type: 'object', properties: {} } },
          cache_control: { type: 'ephemeral' },
        },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stop: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      user: 'u-1',
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
      stream_options: { include_usage: true },
    },
  },
  {
    name: 'tool_choice tool → a named function; auto → auto; none → none',
    body: { tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'f' } },
    expect: { tool_choice: { type: 'function', function: { name: 'f' } } },
  },
  {
    name: 'output_config.format json_schema → response_format json_schema; unknown hint fields are ignored',
    body: { output_config: { format: { type: 'json_schema', schema: { type: 'object' } }, effort: 'high' }, service_tier: 'auto', some_future_field: 1 },
    expect: {
      response_format: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' }, strict: true } },
      service_tier: undefined,
      some_future_field: undefined,
    },
  },
  {
    name: 'a system-role message in messages (as the newest SDK allows) stays a system message in place',
    body: {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'system', content: 'now be formal' },
        { role: 'user', content: 'b' },
      ],
    },
    expect: {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'system', content: 'now be formal' },
        { role: 'user', content: 'b' },
      ],
    },
  },
];

for (const c of cases) {
  test(`anthropic in: ${c.name}`, () => {
    const req = anthropicToChatRequest(base(c.body)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(req[k], v, k);
  });
}

const refusals: { name: string; body: Partial<MessagesRequest>; param: string }[] = [
  { name: 'a server tool (web search runs only at Anthropic)', body: { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, param: 'tools.0.type' },
  { name: 'an MCP connector', body: { mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] }, param: 'mcp_servers' },
  {
    name: 'a search_result block',
    body: { messages: [{ role: 'user', content: [{ type: 'search_result', source: {}, title: 't', content: [] } as never] }] },
    param: 'messages.0.content.0.type',
  },
  {
    name: 'a file-id image',
    body: { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] },
    param: 'messages.0.content.0.source',
  },
  {
    name: 'a base64 document that is not a PDF',
    body: { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'image/png', data: 'x' } }] }] },
    param: 'messages.0.content.0.source.media_type',
  },
  {
    name: 'a server_tool_use block in history',
    body: {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }] },
      ],
    },
    param: 'messages.1.content.0.type',
  },
  { name: 'a missing max_tokens', body: { max_tokens: undefined as never }, param: 'max_tokens' },
  { name: 'a temperature above 1', body: { temperature: 1.5 }, param: 'temperature' },
  { name: 'a thinking budget under 1024', body: { thinking: { type: 'enabled', budget_tokens: 100 } }, param: 'thinking.budget_tokens' },
  { name: 'no messages', body: { messages: [] }, param: 'messages' },
  { name: 'a bad role', body: { messages: [{ role: 'tool' as never, content: 'x' }] }, param: 'messages.0.role' },
];

for (const c of refusals) {
  test(`anthropic in: 400 naming ${c.param} for ${c.name}`, () => {
    assert.throws(
      () => anthropicToChatRequest(base(c.body)),
      (e: unknown) => e instanceof ClientError && e.status === 400 && e.param === c.param && e.message.startsWith(c.param),
    );
  });
}
