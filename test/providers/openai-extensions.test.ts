// The unknown-fields rule at OpenAI-format targets: a chat client's body passes whole; a translated body loses the internal extensions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatRequest } from '../../src/core/openai.ts';
import { ClientError } from '../../src/core/errors.ts';
import { fromOpenAIResponse, openaiStreamTranslator, toOpenAIBody } from '../../src/providers/openai/index.ts';

const withExtensions = (): ChatRequest => ({
  model: 'client',
  top_k: 5,
  thinking: { type: 'enabled', budget_tokens: 2048 },
  vendor_field: { keep: true },
  tools: [{ type: 'function', function: { name: 'f' }, cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral' } }] },
    { role: 'user', content: 'q' },
    {
      role: 'assistant',
      content: null,
      reasoning_content: 'hmm',
      thinking_blocks: [{ type: 'thinking', thinking: 'hmm', signature: 's' }],
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: { google: { thought_signature: 'g' } } }],
    },
    { role: 'tool', tool_call_id: 'c1', content: 'boom', is_error: true },
  ],
});

test("openai body: a chat client's own body keeps every field it sent, extensions and unknown fields included", () => {
  const body = toOpenAIBody(withExtensions(), 'gpt-4o');
  const { model: _m, ...sent } = withExtensions();
  assert.deepEqual({ ...body, model: undefined }, { ...sent, model: undefined });
  assert.equal(body.model, 'gpt-4o');
});

test('openai body: a body translated from another client API loses every internal extension; a failed tool result says so in text', () => {
  const body = toOpenAIBody({ ...withExtensions(), flowrouter: { inbound: 'anthropic' } }, 'gpt-4o') as any;
  assert.equal(body.flowrouter, undefined);
  assert.equal(body.top_k, undefined);
  assert.equal(body.thinking, undefined);
  assert.deepEqual(body.vendor_field, { keep: true }, 'fields the client API itself carried are not extensions');
  assert.deepEqual(body.tools, [{ type: 'function', function: { name: 'f' } }]);
  assert.deepEqual(body.messages, [
    { role: 'system', content: [{ type: 'text', text: 'sys' }] },
    { role: 'user', content: 'q' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'Error: boom' },
  ]);
});

test('openai body: a translated file by URL is refused with its position (chat completions has no file URLs)', () => {
  assert.throws(
    () =>
      toOpenAIBody(
        { model: 'm', flowrouter: { inbound: 'responses' }, messages: [{ role: 'user', content: [{ type: 'file', file: { file_url: 'https://x/y.pdf' } }] }] },
        'gpt-4o',
      ),
    (e: unknown) => e instanceof ClientError && e.param === 'messages[0].content[0]',
  );
});

test('openai answers: reasoning a server names `reasoning` (vLLM, Ollama, OpenRouter) also reads as reasoning_content, JSON and streamed', () => {
  const ctx = { model: 'm', id: 'c', created: 1 };
  const res = fromOpenAIResponse(
    { id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: 'a', reasoning: 'why' }, finish_reason: 'stop' }] },
    ctx,
  );
  assert.equal(res.choices[0].message.reasoning_content, 'why');
  const t = openaiStreamTranslator({ model: 'm', messages: [], stream: true }, ctx);
  const [chunk] = t.push({ data: JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { reasoning: 'pi' }, finish_reason: null }] }) });
  assert.equal(chunk.choices[0].delta.reasoning_content, 'pi');
  const own = fromOpenAIResponse(
    { id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: 'a', reasoning_content: 'kept', reasoning: 'other' }, finish_reason: 'stop' }] },
    ctx,
  );
  assert.equal(own.choices[0].message.reasoning_content, 'kept');
});
