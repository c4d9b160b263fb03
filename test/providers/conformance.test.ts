// The provider conformance table: every provider type, through the real transport against its wire-faithful fake,
// gives the same OpenAI-shaped answer for text, usage, tool calls (JSON and streamed) and each kind of upstream error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { UpstreamError, type UpstreamFailureKind } from '../../src/core/errors.ts';
import { Transport, providerTypes, type ChatResult } from '../../src/providers/index.ts';
import { WIRES, type ErrorKind, type ToolCall, type Wire } from './conformance-wires.ts';

const transport = new Transport();
after(() => transport.stop());

const ctx = { model: 'conformance-model', id: 'chatcmpl-conf', created: 1700000000 };
const USAGE = { prompt: 21, completion: 8 };
const CALLS: ToolCall[] = [
  { id: 'call_weather', name: 'weather', args: { city: 'Oslo', day: 'tomorrow' } },
  { id: 'call_clock', name: 'clock', args: {} },
];

const tools: ChatRequest['tools'] = [
  {
    type: 'function',
    function: {
      name: 'weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, day: { type: 'string' } }, required: ['city'] },
    },
  },
  { type: 'function', function: { name: 'clock', description: 'The time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
];
/** A conversation every API must accept: a tool round already answered, then a new question. */
const toolConversation: ChatRequest['messages'] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Weather in Oslo today?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"rain"}' },
  { role: 'assistant', content: 'Rain.' },
  { role: 'user', content: 'And tomorrow, and what time is it?' },
];

const chat = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'default', messages: [{ role: 'user', content: 'Say hello' }], ...over });

async function json(result: ChatResult) {
  assert.equal(result.kind, 'json');
  if (result.kind !== 'json') throw new Error('unreachable');
  return result.response;
}

async function chunksOf(result: ChatResult): Promise<ChatChunk[]> {
  assert.equal(result.kind, 'stream');
  const out: ChatChunk[] = [];
  if (result.kind === 'stream') for await (const c of result.chunks) out.push(c);
  return out;
}

/** Tool calls put back together from stream deltas, by index, as the OpenAI SDK does. */
function assembled(chunks: ChatChunk[]): { id: string; name: string; args: string }[] {
  const calls: { id: string; name: string; args: string }[] = [];
  for (const c of chunks) {
    for (const d of c.choices[0]?.delta.tool_calls ?? []) {
      const call = (calls[d.index] ??= { id: '', name: '', args: '' });
      call.id ||= d.id ?? '';
      call.name += d.function?.name ?? '';
      call.args += d.function?.arguments ?? '';
    }
  }
  return calls;
}

function assertCalls(got: { id: string; name: string; args: string }[]): void {
  assert.deepEqual(
    got.map((c) => [c.name, JSON.parse(c.args || '{}')]),
    CALLS.map((c) => [c.name, c.args]),
  );
  assert.ok(
    got.every((c) => c.id.length > 0),
    'every call has an id',
  );
  assert.equal(new Set(got.map((c) => c.id)).size, got.length, 'call ids are distinct');
}

const ERRORS: [ErrorKind, UpstreamFailureKind, number, boolean][] = [
  // [scripted failure, kind, status returned to the client, falls through to the next target]
  ['rate_limit', 'rate_limit', 429, true],
  ['auth', 'auth', 502, true],
  ['server', 'server', 502, true],
  ['context_length', 'context_length', 400, true],
  ['bad_request', 'client', 400, false],
];

test('every registered provider type has a conformance wire', () => {
  assert.deepEqual(Object.keys(WIRES).sort(), providerTypes().sort());
});

for (const [type, start] of Object.entries(WIRES)) {
  test(`conformance: ${type}`, async (t) => {
    const wire: Wire = await start();
    t.after(() => wire.close());
    const send = (req: ChatRequest) => transport.sendChat(wire.provider, wire.account, req, ctx);

    await t.test('text: content, finish_reason stop and usage', async () => {
      wire.script({ text: 'Hello there, friend.', usage: USAGE });
      const res = await json(await send(chat()));
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.choices[0].message.content, 'Hello there, friend.');
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.deepEqual([res.usage?.prompt_tokens, res.usage?.completion_tokens, res.usage?.total_tokens], [21, 8, 29]);
    });

    await t.test('streamed text: deltas add up, the stream finishes with stop and the usage asked for', async () => {
      wire.script({ text: 'Streaming, piece by piece.', usage: USAGE });
      const chunks = await chunksOf(await send(chat({ stream: true, stream_options: { include_usage: true } })));
      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Streaming, piece by piece.');
      assert.equal(
        chunks
          .filter((c) => c.choices[0]?.finish_reason)
          .map((c) => c.choices[0].finish_reason)
          .join(),
        'stop',
      );
      const usage = chunks.findLast((c) => c.usage)?.usage;
      assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [21, 8]);
    });

    await t.test('tools: a tool conversation is accepted and two tool calls come back', async () => {
      wire.script({ calls: CALLS, usage: USAGE });
      const res = await json(await send(chat({ messages: toolConversation, tools, tool_choice: 'auto' })));
      assert.equal(res.choices[0].finish_reason, 'tool_calls');
      assertCalls((res.choices[0].message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, args: c.function.arguments })));
      assert.deepEqual([res.usage?.prompt_tokens, res.usage?.completion_tokens], [21, 8]);
    });

    await t.test('streamed tool calls: deltas assemble into the same calls, finishing with tool_calls', async () => {
      wire.script({ calls: CALLS, usage: USAGE });
      const chunks = await chunksOf(await send(chat({ messages: toolConversation, tools, stream: true })));
      assertCalls(assembled(chunks));
      assert.equal(
        chunks
          .filter((c) => c.choices[0]?.finish_reason)
          .map((c) => c.choices[0].finish_reason)
          .join(),
        'tool_calls',
      );
    });

    for (const [scripted, kind, status, fallsThrough] of ERRORS) {
      await t.test(
        `error: ${scripted} is an UpstreamError of kind ${kind}, status ${status}${fallsThrough ? ', falling through' : ', returned at once'}`,
        async () => {
          wire.script({ error: scripted });
          await assert.rejects(send(chat()), (err: unknown) => {
            assert.ok(err instanceof UpstreamError, String(err));
            assert.deepEqual([err.kind, err.status, err.fallsThrough], [kind, status, fallsThrough]);
            if (scripted === 'rate_limit') assert.equal(err.retryAfterMs, 1000);
            assert.doesNotMatch(err.message, new RegExp(wire.account.key ?? '\0'));
            return true;
          });
        },
      );
    }
  });
}
