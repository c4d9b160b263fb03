// Golden tests of the Anthropic SSE encoder: exact event order from any provider's chunks, read back by the official SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import type { ChatChunk, ChunkDelta, Usage } from '../../src/core/openai.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import { anthropicStreamEncoder, formatAnthropicSse, type AnthropicSseEvent } from '../../src/inbound/anthropic/index.ts';
import { isCarrierToken, unpackState } from '../../src/inbound/carrier.ts';
import { anthropicStreamTranslator } from '../../src/providers/anthropic/index.ts';
import { fakeSignature, messageEvents } from '../fakes/anthropic.ts';

const chunk = (delta: ChunkDelta, finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const usageChunk = (usage: Usage): ChatChunk => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage });
const USAGE: Usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 0 } };

function encode(chunks: ChatChunk[], showThinking = true): AnthropicSseEvent[] {
  const enc = anthropicStreamEncoder({ id: 'req1', model: 'claude-x', showThinking });
  return [...chunks.flatMap((c) => enc.push(c)), ...enc.end()];
}

/** Events in a compact form: type, block index, and the block or delta type. */
function shape(events: AnthropicSseEvent[]): string[] {
  return events.map((e) => {
    const d = e.data as { index?: number; content_block?: { type: string }; delta?: { type?: string; stop_reason?: string } };
    if (e.event === 'content_block_start') return `start ${d.index} ${d.content_block!.type}`;
    if (e.event === 'content_block_delta') return `delta ${d.index} ${d.delta!.type}`;
    if (e.event === 'content_block_stop') return `stop ${d.index}`;
    if (e.event === 'message_delta') return `message_delta ${d.delta!.stop_reason}`;
    return e.event;
  });
}

/** The official SDK reading the events as a stream: it throws on an order it cannot accumulate. */
async function readWithSdk(events: AnthropicSseEvent[]) {
  const body = events.map(formatAnthropicSse).join('');
  const client = new Anthropic({ apiKey: 'k', maxRetries: 0, fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }) });
  return client.messages.stream({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
}

test('anthropic stream: text from an OpenAI-style stream — start, ping, deltas, stop, message_delta with usage, message_stop', async () => {
  const events = encode([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usageChunk(USAGE)]);
  assert.deepEqual(shape(events), [
    'message_start',
    'start 0 text',
    'ping',
    'delta 0 text_delta',
    'delta 0 text_delta',
    'stop 0',
    'message_delta end_turn',
    'message_stop',
  ]);
  const msg = await readWithSdk(events);
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello' }]);
  assert.equal(msg.model, 'gpt-4o');
  assert.deepEqual([msg.usage.input_tokens, msg.usage.cache_read_input_tokens, msg.usage.output_tokens], [20, 100, 30]);
  assert.equal(msg.stop_reason, 'end_turn');
});

test('anthropic stream: text then several tool calls — one block each, in order, never reopened', async () => {
  const events = encode([
    chunk({ role: 'assistant', content: 'Checking.' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'now', arguments: '{}' } }] }),
    chunk({}, 'tool_calls'),
    usageChunk(USAGE),
  ]);
  assert.deepEqual(shape(events), [
    'message_start',
    'start 0 text',
    'ping',
    'delta 0 text_delta',
    'stop 0',
    'start 1 tool_use',
    'delta 1 input_json_delta',
    'delta 1 input_json_delta',
    'stop 1',
    'start 2 tool_use',
    'delta 2 input_json_delta',
    'stop 2',
    'message_delta tool_use',
    'message_stop',
  ]);
  const msg = await readWithSdk(events);
  assert.deepEqual(
    msg.content.map((b) => (b.type === 'tool_use' ? [b.id, b.name, b.input] : [b.type])),
    [['text'], ['call_a', 'get', { city: 'Oslo' }], ['call_b', 'now', {}]],
  );
});

test('anthropic stream: Anthropic thinking then text — thinking deltas, then the signature, then the text block', async () => {
  const events = encode([
    chunk({ role: 'assistant', content: '' }),
    chunk({ reasoning_content: 'let me ' }),
    chunk({ reasoning_content: 'think' }),
    chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'let me think', signature: 'SIG' }] }),
    chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: 'RED' }] }),
    chunk({ content: 'Answer.' }),
    chunk({}, 'stop'),
  ]);
  assert.deepEqual(shape(events), [
    'message_start',
    'start 0 thinking',
    'ping',
    'delta 0 thinking_delta',
    'delta 0 thinking_delta',
    'delta 0 signature_delta',
    'stop 0',
    'start 1 redacted_thinking',
    'stop 1',
    'start 2 text',
    'delta 2 text_delta',
    'stop 2',
    'message_delta end_turn',
    'message_stop',
  ]);
  const msg = await readWithSdk(events);
  assert.deepEqual(msg.content, [
    { type: 'thinking', thinking: 'let me think', signature: 'SIG' },
    { type: 'redacted_thinking', data: 'RED' },
    { type: 'text', text: 'Answer.' },
  ]);
});

test("anthropic stream: another model's reasoning shows as an unsigned thinking block only when the client asked for thinking", () => {
  const chunks = [chunk({ reasoning_content: 'hmm' }), chunk({ content: 'ok' }), chunk({}, 'stop')];
  assert.deepEqual(shape(encode(chunks, true)).slice(1, 6), ['start 0 thinking', 'ping', 'delta 0 thinking_delta', 'stop 0', 'start 1 text']);
  assert.deepEqual(shape(encode(chunks, false)).slice(1, 3), ['start 0 text', 'ping']);
});

test("anthropic stream: a Gemini call's thought signature rides in a thinking block just before its tool_use, even without thinking on", async () => {
  const events = encode(
    [
      chunk({
        role: 'assistant',
        tool_calls: [
          { index: 0, id: 'g1', type: 'function', function: { name: 'f', arguments: '{"a":1}' }, extra_content: { google: { thought_signature: 'GSIG' } } },
        ],
      }),
      chunk({}, 'tool_calls'),
    ],
    false,
  );
  assert.deepEqual(shape(events), [
    'message_start',
    'start 0 thinking',
    'ping',
    'delta 0 signature_delta',
    'stop 0',
    'start 1 tool_use',
    'delta 1 input_json_delta',
    'stop 1',
    'message_delta tool_use',
    'message_stop',
  ]);
  const msg = await readWithSdk(events);
  const carrier = msg.content[0] as { type: string; signature: string };
  assert.ok(isCarrierToken(carrier.signature));
  assert.deepEqual(unpackState(carrier.signature), { google_calls: { g1: 'GSIG' } });
});

test("anthropic stream: an upstream error mid-stream ends with Anthropic's in-band error event and no message_stop", () => {
  const enc = anthropicStreamEncoder({ id: 'r', model: 'm', showThinking: false });
  const events = [...enc.push(chunk({ content: 'partial' })), ...enc.error(new UpstreamError('overloaded', 'upstream overloaded'))];
  assert.deepEqual(shape(events), ['message_start', 'start 0 text', 'ping', 'delta 0 text_delta', 'error']);
  assert.deepEqual(events.at(-1)!.data, { type: 'error', error: { type: 'overloaded_error', message: 'upstream overloaded' } });
  assert.deepEqual(enc.end(), []);
});

test('anthropic stream: arguments for a tool call whose block already stopped are a protocol error, not a reordered stream', () => {
  const enc = anthropicStreamEncoder({ id: 'r', model: 'm', showThinking: false });
  enc.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '' } }] }));
  enc.push(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '' } }] }));
  assert.throws(
    () => enc.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] })),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});

test('anthropic stream: an empty upstream stream still makes a complete message the SDK accepts', async () => {
  const events = encode([]);
  assert.deepEqual(shape(events), ['message_start', 'message_delta end_turn', 'message_stop']);
  assert.deepEqual((await readWithSdk(events)).content, []);
});

test('anthropic stream: Anthropic events → internal chunks → Anthropic events keeps every block, delta and signature', async () => {
  const original = messageEvents({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 3, cache_read_input_tokens: 7 },
    content: [
      { type: 'thinking', thinking: 'plan it' },
      { type: 'text', text: 'Calling.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get', input: { q: 'x' } },
    ],
  });
  const translator = anthropicStreamTranslator(
    { model: 'm', messages: [], stream: true, stream_options: { include_usage: true } },
    { model: 'claude-x', id: 'c', created: 1 },
  );
  const chunks = original.flatMap((e) => translator.push({ event: e.event, data: JSON.stringify(e.data) }));
  const events = encode(chunks);
  const blocks = (evs: { event: string; data: unknown }[]) => shape(evs as AnthropicSseEvent[]).filter((s) => s.startsWith('start') || s.startsWith('stop'));
  assert.deepEqual(blocks(events), blocks(original));
  const msg = await readWithSdk(events);
  assert.deepEqual(msg.content, [
    { type: 'thinking', thinking: 'plan it', signature: fakeSignature('plan it') },
    { type: 'text', text: 'Calling.' },
    { type: 'tool_use', id: 'toolu_1', name: 'get', input: { q: 'x' } },
  ]);
  assert.deepEqual([msg.usage.input_tokens, msg.usage.cache_creation_input_tokens, msg.usage.cache_read_input_tokens, msg.usage.output_tokens], [10, 3, 7, 5]);
});
