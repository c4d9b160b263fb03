// Golden tests of the Responses SSE encoder and the JSON Response, read back by the openai SDK's own accumulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { ChatChunk, ChatResponse, ChunkDelta, Usage } from '../../src/core/openai.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import {
  chatToResponse,
  formatResponsesSse,
  responsesStreamEncoder,
  type ResponsesRequest,
  type ResponsesSseEvent,
} from '../../src/inbound/responses/index.ts';
import { unpackState } from '../../src/inbound/carrier.ts';

const body: ResponsesRequest = { model: 'gpt-5', input: 'x', tools: [{ type: 'function', name: 'get', parameters: { type: 'object' } }] };
const ctx = { id: 'resp_abc', createdAt: 1700000000 };
const chunk = (delta: ChunkDelta, finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'claude-x',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const USAGE: Usage = {
  prompt_tokens: 50,
  completion_tokens: 20,
  total_tokens: 70,
  prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 5 },
  completion_tokens_details: { reasoning_tokens: 8 },
};
const usageChunk: ChatChunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'claude-x', choices: [], usage: USAGE };

function encode(chunks: ChatChunk[]): ResponsesSseEvent[] {
  const enc = responsesStreamEncoder(body, ctx);
  return [...chunks.flatMap((c) => enc.push(c)), ...enc.end()];
}

const shape = (events: ResponsesSseEvent[]) =>
  events.map((e) => {
    const d = e.data as { output_index?: number; item?: { type: string } };
    return e.event.startsWith('response.output_item') ? `${e.event.slice(9)} ${d.output_index} ${d.item!.type}` : e.event.slice(9);
  });

async function readWithSdk(events: ResponsesSseEvent[]) {
  const text = events.map(formatResponsesSse).join('');
  const client = new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: async () => new Response(text, { headers: { 'content-type': 'text/event-stream' } }) });
  return client.responses.stream({ model: 'gpt-5', input: 'x' }).finalResponse();
}

test('responses stream: text — created, in_progress, message item with its part and deltas, completed with usage; sequence numbers count up', async () => {
  const events = encode([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usageChunk]);
  assert.deepEqual(shape(events), [
    'created',
    'in_progress',
    'output_item.added 0 message',
    'content_part.added',
    'output_text.delta',
    'output_text.delta',
    'output_text.done',
    'content_part.done',
    'output_item.done 0 message',
    'completed',
  ]);
  assert.deepEqual(
    events.map((e) => e.data.sequence_number),
    events.map((_, i) => i),
  );
  const res = await readWithSdk(events);
  assert.equal(res.output_text, 'Hello');
  assert.equal(res.status, 'completed');
  assert.deepEqual(res.usage, {
    input_tokens: 50,
    input_tokens_details: { cached_tokens: 30, cache_write_tokens: 5 },
    output_tokens: 20,
    output_tokens_details: { reasoning_tokens: 8 },
    total_tokens: 70,
  });
});

test('responses stream: reasoning, text, then two function calls — each its own item, in order, arguments streamed', async () => {
  const events = encode([
    chunk({ reasoning_content: 'plan ' }),
    chunk({ reasoning_content: 'it' }),
    chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'plan it', signature: 'SIG' }] }),
    chunk({ content: 'Calling.' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get', arguments: '{"q":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get', arguments: '{}' } }] }),
    chunk({}, 'tool_calls'),
    usageChunk,
  ]);
  assert.deepEqual(shape(events), [
    'created',
    'in_progress',
    'output_item.added 0 reasoning',
    'reasoning_summary_part.added',
    'reasoning_summary_text.delta',
    'reasoning_summary_text.delta',
    'reasoning_summary_text.done',
    'reasoning_summary_part.done',
    'output_item.done 0 reasoning',
    'output_item.added 1 message',
    'content_part.added',
    'output_text.delta',
    'output_text.done',
    'content_part.done',
    'output_item.done 1 message',
    'output_item.added 2 function_call',
    'function_call_arguments.delta',
    'function_call_arguments.delta',
    'function_call_arguments.done',
    'output_item.done 2 function_call',
    'output_item.added 3 function_call',
    'function_call_arguments.delta',
    'function_call_arguments.done',
    'output_item.done 3 function_call',
    'completed',
  ]);
  const res = await readWithSdk(events);
  const [rs, msg, a, b] = res.output as any[];
  assert.deepEqual(rs.summary, [{ type: 'summary_text', text: 'plan it' }]);
  assert.deepEqual(unpackState(rs.encrypted_content), { thinking_blocks: [{ type: 'thinking', thinking: 'plan it', signature: 'SIG' }] });
  assert.equal(msg.content[0].text, 'Calling.');
  assert.deepEqual([a.call_id, a.name, a.arguments, b.call_id, b.arguments], ['call_a', 'get', '{"q":1}', 'call_b', '{}']);
});

test('responses stream: a Gemini call signature gets its own reasoning item before the call, so clients carry it back', async () => {
  const events = encode([
    chunk({
      role: 'assistant',
      tool_calls: [
        { index: 0, id: 'g1', type: 'function', function: { name: 'get', arguments: '{}' }, extra_content: { google: { thought_signature: 'GS' } } },
      ],
    }),
    chunk({}, 'tool_calls'),
  ]);
  assert.deepEqual(shape(events).slice(2, 6), [
    'output_item.added 0 reasoning',
    'output_item.done 0 reasoning',
    'output_item.added 1 function_call',
    'function_call_arguments.delta',
  ]);
  const res = await readWithSdk(events);
  assert.deepEqual(unpackState((res.output[0] as any).encrypted_content), { google_calls: { g1: 'GS' } });
});

test('responses stream: a length finish ends with response.incomplete and the reason', async () => {
  const events = encode([chunk({ content: 'cut' }), chunk({}, 'length')]);
  assert.equal(shape(events).at(-1), 'incomplete');
  assert.deepEqual((events.at(-1)!.data.response as any).incomplete_details, { reason: 'max_output_tokens' });
});

test('responses stream: an upstream failure mid-stream ends with response.failed carrying the error and the output so far', () => {
  const enc = responsesStreamEncoder(body, ctx);
  const events = [...enc.push(chunk({ content: 'partial' })), ...enc.error(new UpstreamError('overloaded', 'busy'))];
  const failed = events.at(-1)!;
  assert.equal(failed.event, 'response.failed');
  assert.deepEqual((failed.data.response as any).error, { code: 'server_error', message: 'busy' });
  assert.equal(enc.response.status, 'failed');
  assert.deepEqual(enc.end(), []);
});

test('responses stream: arguments for a call whose item is done are a protocol error', () => {
  const enc = responsesStreamEncoder(body, ctx);
  enc.push(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'get', arguments: '' } }] }));
  enc.push(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'get', arguments: '' } }] }));
  assert.throws(
    () => enc.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] })),
    (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol',
  );
});

test('responses JSON: the same answer as a Response object equals what the stream accumulates to', async () => {
  const answer: ChatResponse = {
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'claude-x',
    usage: USAGE,
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: 'Calling.',
          reasoning_content: 'plan it',
          thinking_blocks: [{ type: 'thinking', thinking: 'plan it', signature: 'SIG' }],
          tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get', arguments: '{"q":1}' } }],
        },
      },
    ],
  };
  const json = chatToResponse(answer, body, ctx);
  const streamed = await readWithSdk(
    encode([
      chunk({ reasoning_content: 'plan it' }),
      chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'plan it', signature: 'SIG' }] }),
      chunk({ content: 'Calling.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get', arguments: '{"q":1}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk,
    ]),
  );
  // The SDK adds its own conveniences (output_text, parsed values) to what it read off the wire.
  const sdkOnly = new Set(['output_text', 'output_parsed', 'parsed', 'parsed_arguments']);
  const wire = JSON.parse(JSON.stringify(streamed, (k, v) => (sdkOnly.has(k) ? undefined : v)));
  assert.deepEqual(wire, JSON.parse(JSON.stringify(json)));
  assert.equal(json.id, 'resp_abc');
  assert.deepEqual(
    json.output.map((o) => [o.type, o.id]),
    [
      ['reasoning', 'rs_abc_0'],
      ['message', 'msg_abc_0'],
      ['function_call', 'fc_abc_0'],
    ],
  );
});
