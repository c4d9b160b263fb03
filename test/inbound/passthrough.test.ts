// The pure halves of passthrough: the client's body made fit for its own vendor, what a translation leaves out, and
// what makes a request servable by its own vendor only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicPassthroughBody, translateMessagesRequest, type MessagesRequest } from '../../src/inbound/anthropic/index.ts';
import { nativeResponsesBody, translateResponsesRequest, type InputItem, type ResponsesRequest } from '../../src/inbound/responses/index.ts';

const msg = (messages: unknown[], extra: object = {}) => ({ model: 'm', max_tokens: 10, messages, ...extra }) as MessagesRequest;

test('a body with nothing Anthropic would refuse goes to Anthropic as the very same object', () => {
  const body = msg([
    { role: 'user', content: 'hi' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 't', signature: 'EqSig' },
        { type: 'text', text: 'x' },
      ],
    },
  ]);
  assert.equal(anthropicPassthroughBody(body), body);
});

test("system-role messages become system text after the client's own, and the turns around them are joined", () => {
  const body = msg(
    [
      { role: 'user', content: 'one' },
      { role: 'system', content: 'Agents: a, b.' },
      { role: 'user', content: [{ type: 'text', text: 'two' }] },
    ],
    { system: [{ type: 'text', text: 'Base.', cache_control: { type: 'ephemeral' } }] },
  );
  assert.deepEqual(anthropicPassthroughBody(body), {
    model: 'm',
    max_tokens: 10,
    system: [
      { type: 'text', text: 'Base.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Agents: a, b.' },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
    ],
  });
  assert.equal(
    (
      anthropicPassthroughBody(
        msg([
          { role: 'system', content: 'S' },
          { role: 'user', content: 'u' },
        ]),
      ) as any
    ).system,
    'S',
  );
});

test("thinking of other providers is taken out of the history; Anthropic's own signed thinking stays", () => {
  const body = msg([
    { role: 'user', content: 'q' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'mine', signature: 'EqSig' },
        { type: 'thinking', thinking: 'theirs', signature: '' },
        { type: 'thinking', thinking: '', signature: 'flowrouter.v1.e30' },
        { type: 'text', text: 'a' },
      ],
    },
  ]);
  assert.deepEqual(
    (anthropicPassthroughBody(body) as any).messages[1].content.map((b: any) => b.signature ?? b.type),
    ['EqSig', 'text'],
  );
});

test("a translated Messages request leaves out server tools and their blocks, and lists them; Anthropic's client tools make it Anthropic-only", () => {
  const body = msg(
    [
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 's', name: 'web_fetch', input: {} },
          { type: 'web_fetch_tool_result', tool_use_id: 's', content: {} },
          { type: 'text', text: 'a' },
        ],
      },
      { role: 'user', content: 'more' },
    ],
    {
      tools: [
        { name: 'f', input_schema: { type: 'object' } },
        { type: 'web_fetch_20250910', name: 'web_fetch' },
      ],
    },
  );
  const t = translateMessagesRequest(body);
  assert.deepEqual(t.leftOut, ['tools.1 (web_fetch_20250910)', 'messages.1.content.0 (server_tool_use)', 'messages.1.content.1 (web_fetch_tool_result)']);
  assert.equal(t.untranslatable, undefined);
  assert.deepEqual(
    t.request.tools?.map((x) => x.function.name),
    ['f'],
  );
  const only = translateMessagesRequest(
    msg([{ role: 'user', content: 'q' }], { tools: [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }] }),
  );
  assert.equal(only.untranslatable?.param, 'tools.0.type');
  assert.equal(only.request.tools, undefined, 'the rest is translated for the pipeline');
});

test("a translated Responses request leaves out hosted tools and their items, the stored turns' included", () => {
  const previous: InputItem[] = [
    { role: 'user', content: 'a' },
    { type: 'file_search_call', id: 'fs_1' },
    { role: 'assistant', content: 'b' },
  ];
  const t = translateResponsesRequest(
    {
      model: 'm',
      input: [
        { type: 'web_search_call', id: 'ws' },
        { role: 'user', content: 'c' },
      ],
      tools: [{ type: 'namespace', name: 'agents' }, { type: 'function', name: 'f' }, { type: 'file_search' }],
    } as ResponsesRequest,
    { previous },
  );
  assert.deepEqual(t.leftOut, ['tools[0] (namespace)', 'tools[2] (file_search)', 'input[0] (web_search_call)', 'previous_response_id[1] (file_search_call)']);
  assert.deepEqual(
    t.request.messages.map((m) => m.content),
    ['a', 'b', 'c'],
  );
  assert.equal(t.untranslatable, undefined);
  assert.equal(translateResponsesRequest({ model: 'm', input: 'x', prompt: { id: 'pmpt_1' } } as ResponsesRequest).untranslatable?.param, 'prompt');
});

test('the body for a Responses target is stateless: earlier turns first, previous_response_id gone, store off, unreadable reasoning left out', () => {
  const previous: InputItem[] = [
    { role: 'user', content: 'a' },
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'flowrouter.v1.e30' },
    { type: 'reasoning', id: 'rs_3', summary: [], encrypted_content: 'gAAA' },
  ];
  const body = nativeResponsesBody({ model: 'm', input: 'next', previous_response_id: 'resp_1', store: true } as ResponsesRequest, previous);
  assert.deepEqual(body, { model: 'm', store: false, input: [previous[0], previous[3], { role: 'user', content: 'next' }] });
  assert.deepEqual(nativeResponsesBody({ model: 'm', input: 'only' } as ResponsesRequest, []), { model: 'm', input: 'only', store: false });
});
