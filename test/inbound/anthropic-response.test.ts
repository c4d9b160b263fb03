// Internal chat answers → Anthropic Message JSON; errors in Anthropic's shape; count_tokens estimates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatResponse } from '../../src/core/openai.ts';
import { ClientError, RateLimitError, UpstreamError } from '../../src/core/errors.ts';
import { countTokens } from '../../src/core/tokens.ts';
import {
  chatToAnthropicMessage,
  estimateAnthropicInputTokens,
  IMAGE_TOKENS,
  PDF_PAGE_TOKENS,
  TOOLS_PROMPT_TOKENS,
  toAnthropicError,
} from '../../src/inbound/anthropic/index.ts';
import { unpackState } from '../../src/inbound/carrier.ts';

const answer = (
  message: ChatResponse['choices'][number]['message'],
  finish: ChatResponse['choices'][number]['finish_reason'] = 'stop',
  usage?: ChatResponse['usage'],
): ChatResponse => ({
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});

test('anthropic out: a text answer is a Message with msg_ id, the serving model, end_turn and Anthropic-style usage', () => {
  const msg = chatToAnthropicMessage(
    answer({ role: 'assistant', content: 'Hi.' }, 'stop', {
      prompt_tokens: 100,
      completion_tokens: 5,
      total_tokens: 105,
      prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
    }),
    { showThinking: false },
  );
  assert.deepEqual(msg, {
    id: 'msg_abc',
    type: 'message',
    role: 'assistant',
    model: 'gpt-4o',
    content: [{ type: 'text', text: 'Hi.', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 30, output_tokens: 5, cache_creation_input_tokens: 10, cache_read_input_tokens: 60 },
  });
});

test('anthropic out: thinking blocks first (when asked for), text, the signature carrier, then tool_use with parsed input', () => {
  const msg = chatToAnthropicMessage(
    answer(
      {
        role: 'assistant',
        content: 'Let me look.',
        reasoning_content: 'plan',
        thinking_blocks: [{ type: 'thinking', thinking: 'plan', signature: 'SIG' }],
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get', arguments: '{"q":1}' }, extra_content: { google: { thought_signature: 'G' } } },
          { id: 'c2', type: 'function', function: { name: 'bad', arguments: 'not json' } },
        ],
      },
      'tool_calls',
    ),
    { showThinking: true },
  );
  assert.deepEqual(
    msg.content.map((b) => b.type),
    ['thinking', 'text', 'thinking', 'tool_use', 'tool_use'],
  );
  assert.deepEqual(msg.content[0], { type: 'thinking', thinking: 'plan', signature: 'SIG' });
  assert.deepEqual(unpackState((msg.content[2] as { signature: string }).signature), { google_calls: { c1: 'G' } });
  assert.deepEqual(msg.content[3], { type: 'tool_use', id: 'c1', name: 'get', input: { q: 1 } });
  assert.deepEqual(msg.content[4], { type: 'tool_use', id: 'c2', name: 'bad', input: { _raw_arguments: 'not json' } });
  assert.equal(msg.stop_reason, 'tool_use');
});

test('anthropic out: reasoning stays hidden when the client did not ask for thinking, so content[0] is the text', () => {
  const msg = chatToAnthropicMessage(answer({ role: 'assistant', content: 'Hi', reasoning_content: 'hidden' }), { showThinking: false });
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hi', citations: null }]);
  const shown = chatToAnthropicMessage(answer({ role: 'assistant', content: 'Hi', reasoning_content: 'shown' }), { showThinking: true });
  assert.deepEqual(shown.content[0], { type: 'thinking', thinking: 'shown', signature: '' });
});

test('anthropic out: finish reasons map to stop reasons', () => {
  const table: [ChatResponse['choices'][number]['finish_reason'], string][] = [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    [null, 'end_turn'],
  ];
  for (const [finish, stop] of table)
    assert.equal(chatToAnthropicMessage(answer({ role: 'assistant', content: 'x' }, finish), { showThinking: false }).stop_reason, stop);
});

test("anthropic errors: coded errors keep their status in Anthropic's shape; server errors become api_error", () => {
  assert.deepEqual(toAnthropicError(new ClientError('messages.0: bad')), {
    status: 400,
    body: { type: 'error', error: { type: 'invalid_request_error', message: 'messages.0: bad' } },
    headers: {},
  });
  const limited = toAnthropicError(new RateLimitError('slow down', 'rate_limit_exceeded', 3));
  assert.deepEqual([limited.status, limited.body.error.type, limited.headers['retry-after']], [429, 'rate_limit_error', '3']);
  assert.equal(toAnthropicError(new UpstreamError('server', 'boom')).body.error.type, 'api_error');
  assert.deepEqual(toAnthropicError(new Error('secret detail')).body, {
    type: 'error',
    error: { type: 'api_error', message: 'Internal error in Flow Router' },
  });
});

test("count_tokens estimate: text with o200k plus message overhead, images and PDF pages at Anthropic's sizes, the tool prompt", () => {
  const text = 'The quick brown fox jumps over the lazy dog.';
  const plain = estimateAnthropicInputTokens({ model: 'm', messages: [{ role: 'user', content: text }] }).input_tokens;
  assert.equal(plain, countTokens(text) + 4);
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page>>').toString('base64');
  const rich = estimateAnthropicInputTokens({
    model: 'm',
    system: 'sys',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text },
          { type: 'image', source: { type: 'url', url: 'https://x/y.png' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
        ],
      },
    ],
    tools: [{ name: 'f', input_schema: { type: 'object' } }],
  }).input_tokens;
  const toolJson = countTokens(JSON.stringify([{ name: 'f', parameters: { type: 'object' } }]));
  assert.equal(rich, countTokens('sys') + 4 + countTokens(text) + IMAGE_TOKENS + 2 * PDF_PAGE_TOKENS + 4 + TOOLS_PROMPT_TOKENS + toolJson);
});

test('count_tokens estimate: a malformed body is the same 400 /v1/messages gives', () => {
  assert.throws(
    () => estimateAnthropicInputTokens({ model: 'm', messages: [] }),
    (e: unknown) => e instanceof ClientError && e.param === 'messages',
  );
});
