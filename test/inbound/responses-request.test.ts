// Table tests of OpenAI Responses requests → the internal chat request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import { responsesToChatRequest, type InputItem, type ResponsesRequest } from '../../src/inbound/responses/index.ts';
import { packState } from '../../src/inbound/carrier.ts';

const base = (over: Partial<ResponsesRequest>): ResponsesRequest => ({ model: 'gpt-5', input: 'hi', ...over });

const cases: { name: string; body: Partial<ResponsesRequest>; expect: Partial<ChatRequest> }[] = [
  {
    name: 'a string input with instructions becomes system + user; marked as translated',
    body: { instructions: 'be brief' },
    expect: {
      model: 'gpt-5',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      flowrouter: { inbound: 'responses' },
    },
  },
  {
    name: 'message items (typed or not) with input_text, input_image and input_file parts',
    body: {
      input: [
        { role: 'developer', content: 'rules' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'see' },
            { type: 'input_image', image_url: 'https://x/a.png', detail: 'high' },
            { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBE' },
            { type: 'input_file', file_url: 'https://x/b.pdf' },
          ],
        },
      ],
    },
    expect: {
      messages: [
        { role: 'developer', content: 'rules' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'high' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' } },
            { type: 'file', file: { file_url: 'https://x/b.pdf' } },
          ],
        },
      ],
    },
  },
  {
    name: 'reasoning, assistant text and function calls make one assistant turn; outputs become tool messages',
    body: {
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'need tools' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'get', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', id: 'fc_2', call_id: 'call_b', name: 'now', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'rain' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: '12:00' }] },
        { role: 'assistant', content: 'Rain at noon.' },
        { role: 'user', content: 'thanks' },
      ] as InputItem[],
    },
    expect: {
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: 'Checking.',
          reasoning_content: 'need tools',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
            { id: 'call_b', type: 'function', function: { name: 'now', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'rain' },
        { role: 'tool', tool_call_id: 'call_b', content: '12:00' },
        { role: 'assistant', content: 'Rain at noon.' },
        { role: 'user', content: 'thanks' },
      ],
    },
  },
  {
    name: 'a reasoning item Flow Router filled restores Anthropic thinking blocks and Gemini signatures on the turn',
    body: {
      input: [
        { role: 'user', content: 'go' },
        {
          type: 'reasoning',
          id: 'rs_1',
          summary: [],
          encrypted_content: packState({ thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 'S' }], google_calls: { call_a: 'G' } }),
        },
        { type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'ok' },
      ] as InputItem[],
    },
    expect: {
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 'S' }],
          tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: { google: { thought_signature: 'G' } } }],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'ok' },
      ],
    },
  },
  {
    name: 'function tools, a named tool_choice, json_schema text format, reasoning effort, sampling, metadata, max_output_tokens and a stream',
    body: {
      tools: [{ type: 'function', name: 'get', description: 'Get', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'get' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning: { effort: 'low', summary: 'auto' },
      temperature: 0.2,
      top_p: 0.5,
      parallel_tool_calls: false,
      metadata: { team: 'a' },
      max_output_tokens: 500,
      user: 'u-1',
      stream: true,
    },
    expect: {
      tools: [{ type: 'function', function: { name: 'get', description: 'Get', parameters: { type: 'object', properties: {} }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get' } },
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'low',
      temperature: 0.2,
      top_p: 0.5,
      parallel_tool_calls: false,
      metadata: { team: 'a' },
      max_completion_tokens: 500,
      user: 'u-1',
      stream: true,
      stream_options: { include_usage: true },
    },
  },
  {
    name: 'allowed_tools narrows the tools to those it names',
    body: {
      tools: [
        { type: 'function', name: 'a' },
        { type: 'function', name: 'b' },
      ],
      tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'b' }] },
    },
    expect: { tools: [{ type: 'function', function: { name: 'b' } }], tool_choice: 'required' },
  },
  {
    name: 'hint fields are ignored: store, include, truncation, service_tier, text.verbosity',
    body: { store: false, include: ['reasoning.encrypted_content'], truncation: 'auto', service_tier: 'flex', text: { verbosity: 'low' } },
    expect: { store: undefined, include: undefined, truncation: undefined, service_tier: undefined, response_format: undefined },
  },
];

for (const c of cases) {
  test(`responses in: ${c.name}`, () => {
    const req = responsesToChatRequest(base(c.body)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(req[k], v, k);
  });
}

test('responses in: earlier turns supplied by the caller come before the input; item_reference resolves through the caller', () => {
  const previous: InputItem[] = [
    { role: 'user', content: 'first' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'one' }] },
  ];
  const req = responsesToChatRequest(
    base({
      input: [
        { type: 'item_reference', id: 'msg_9' },
        { role: 'user', content: 'second' },
      ],
    }),
    { previous, resolveItem: (id) => (id === 'msg_9' ? { role: 'user', content: 'referenced' } : undefined) },
  );
  assert.deepEqual(req.messages, [
    { role: 'user', content: 'first' },
    { role: 'assistant', content: 'one' },
    { role: 'user', content: 'referenced' },
    { role: 'user', content: 'second' },
  ]);
});

const refusals: { name: string; body: Partial<ResponsesRequest>; param: string }[] = [
  { name: 'a hosted tool', body: { tools: [{ type: 'web_search' }] }, param: 'tools[0].type' },
  { name: 'a server-side conversation', body: { conversation: 'conv_1' }, param: 'conversation' },
  { name: 'a prompt template', body: { prompt: { id: 'pmpt_1' } }, param: 'prompt' },
  { name: 'a background run', body: { background: true }, param: 'background' },
  { name: 'an item type only OpenAI runs', body: { input: [{ type: 'web_search_call', id: 'ws_1' }] }, param: 'input[0].type' },
  { name: 'an image by file id', body: { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, param: 'input[0].content[0]' },
  { name: 'an unresolvable item_reference', body: { input: [{ type: 'item_reference', id: 'msg_x' }] }, param: 'input[0].id' },
  { name: 'an unknown reasoning effort', body: { reasoning: { effort: 'extreme' } }, param: 'reasoning.effort' },
  { name: 'a missing model', body: { model: '' }, param: 'model' },
];

for (const c of refusals) {
  test(`responses in: 400 naming ${c.param} for ${c.name}`, () => {
    assert.throws(
      () => responsesToChatRequest(base(c.body)),
      (e: unknown) => e instanceof ClientError && e.status === 400 && e.param === c.param,
    );
  });
}
