// The gemini provider end to end through the transport against the wire-faithful fake Gemini server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Transport } from '../../src/providers/transport.ts';
import { providers } from '../../src/providers/index.ts';
import { gemini } from '../../src/providers/gemini/index.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';
import { googleError, startFakeGemini, textResponse, type FakeGemini } from '../fakes/gemini.ts';

const transport = new Transport();
after(() => transport.stop());

const ctx = { model: 'gemini-2.5-flash', id: 'chatcmpl-t', created: 1 };
const accountFor = (fake: FakeGemini, key = 'AIza-test-key'): ProviderAccount => ({
  name: 'g',
  type: 'gemini',
  baseUrl: fake.url,
  key,
  headers: {},
  timeouts: { connectMs: 2000, firstByteMs: 5000, totalMs: 10000 },
});

const toolRequest: ChatRequest = {
  model: 'x',
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Weather in Oslo?' },
        { type: 'image_url', image_url: { url: 'https://x.test/map.png' } },
      ],
    },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: '{"temp":3}' },
    { role: 'user', content: 'And tomorrow?' },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather',
        parameters: {
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          additionalProperties: false,
          properties: { city: { type: 'string' }, day: { type: ['string', 'null'], enum: ['today', 'tomorrow', null] } },
          required: ['city'],
        },
      },
    },
  ],
  tool_choice: 'auto',
  temperature: 0.2,
  max_tokens: 64,
  response_format: { type: 'text' },
};

async function collect(chunks: AsyncGenerator<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

test('gemini is registered in the provider map', () => {
  assert.equal(providers.gemini, gemini);
  assert.equal(gemini.defaultBaseUrl, 'https://generativelanguage.googleapis.com/v1beta');
});

test('the fake refuses what the real API refuses, so passing tests mean valid requests', async () => {
  const fake = await startFakeGemini();
  try {
    const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'k' }) =>
      fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const ok = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    const cases: [string, Response, number][] = [
      ['key in URL', await post('/models/m:generateContent?key=k', ok), 400],
      ['missing key', await post('/models/m:generateContent', ok, {}), 403],
      ['same role twice', await post('/models/m:generateContent', { contents: [ok.contents[0], ok.contents[0]] }), 400],
      ['system role', await post('/models/m:generateContent', { contents: [{ role: 'system', parts: [{ text: 'x' }] }] }), 400],
      [
        'functionResponse without name',
        await post('/models/m:generateContent', { contents: [{ role: 'user', parts: [{ functionResponse: { response: {} } }] }] }),
        400,
      ],
      [
        'additionalProperties in parameters',
        await post('/models/m:generateContent', {
          ...ok,
          tools: [
            { functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { a: { type: 'STRING' } }, additionalProperties: false } }] },
          ],
        }),
        400,
      ],
      [
        '$schema in parameters',
        await post('/models/m:generateContent', {
          ...ok,
          tools: [{ functionDeclarations: [{ name: 'f', parameters: { $schema: 'x', type: 'OBJECT', properties: { a: { type: 'STRING' } } } }] }],
        }),
        400,
      ],
      ['unknown top-level field', await post('/models/m:generateContent', { ...ok, messages: [] }), 400],
      ['valid request', await post('/models/m:generateContent', ok), 200],
    ];
    for (const [name, res, status] of cases) {
      assert.equal(res.status, status, name);
      const body = (await res.json()) as { error?: { code: number; status: string } };
      if (status !== 200) assert.equal(body.error?.code, status, name);
    }
    assert.equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

test('JSON chat with tools round-trips through the fake: valid wire request, key in header only', async () => {
  const fake = await startFakeGemini(() => ({
    json: {
      candidates: [
        {
          index: 0,
          finishReason: 'STOP',
          content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo', day: 'tomorrow' } } }] },
        },
      ],
      usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 6, totalTokenCount: 26 },
    },
  }));
  try {
    const result = await transport.sendChat(gemini, accountFor(fake), toolRequest, ctx);
    assert.equal(fake.rejected.length, 0, JSON.stringify(fake.rejected));
    assert.equal(result.kind, 'json');
    if (result.kind !== 'json') return;
    assert.deepEqual(result.response.choices[0], {
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_chatcmpl-t_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","day":"tomorrow"}' } }],
      },
    });
    assert.deepEqual(result.response.usage, { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 });
    const [call] = fake.requests;
    assert.equal(call.method, 'generateContent');
    assert.equal(call.model, 'gemini-2.5-flash');
    assert.equal(call.headers['x-goog-api-key'], 'AIza-test-key');
    assert.equal([...call.query.keys()].length, 0);
    assert.deepEqual(
      call.body.contents.map((c: { role: string }) => c.role),
      ['user', 'model', 'user'],
    );
    assert.deepEqual(call.body.contents[2].parts, [{ functionResponse: { name: 'get_weather', response: { temp: 3 } } }, { text: 'And tomorrow?' }]);
    assert.deepEqual(call.body.systemInstruction, { parts: [{ text: 'You are terse.' }] });
    assert.deepEqual(call.body.tools[0].functionDeclarations[0].parameters, {
      type: 'OBJECT',
      properties: { city: { type: 'STRING' }, day: { type: 'STRING', nullable: true, enum: ['today', 'tomorrow'] } },
      required: ['city'],
    });
    assert.deepEqual(call.body.toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
    assert.deepEqual(call.body.generationConfig, { temperature: 0.2, maxOutputTokens: 64 });
  } finally {
    await fake.close();
  }
});

test('streaming text over alt=sse: role, deltas, finish and internal usage; the stream counts as finished', async () => {
  const fake = await startFakeGemini();
  try {
    const result = await transport.sendChat(gemini, accountFor(fake), { model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true }, ctx);
    assert.equal(result.kind, 'stream');
    if (result.kind !== 'stream') return;
    const chunks = await collect(result.chunks);
    assert.equal(fake.requests[0].method, 'streamGenerateContent');
    assert.equal(fake.requests[0].query.get('alt'), 'sse');
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello from Gemini.');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks.at(-2)?.choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    assert.equal(chunks.at(-1)?.flowrouter_internal_usage, true);
  } finally {
    await fake.close();
  }
});

test('streaming tool calls through the fake: whole calls, running index, finish tool_calls', async () => {
  const fake = await startFakeGemini(() => ({
    sse: [
      { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] } }] },
      {
        candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Bergen' } } }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 8, totalTokenCount: 17 },
      },
    ],
  }));
  try {
    const result = await transport.sendChat(gemini, accountFor(fake), { ...toolRequest, stream: true, stream_options: { include_usage: true } }, ctx);
    assert.equal(fake.rejected.length, 0, JSON.stringify(fake.rejected));
    if (result.kind !== 'stream') throw new Error('expected a stream');
    const chunks = await collect(result.chunks);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    assert.deepEqual(
      calls.map((t) => [t.index, t.id, t.function?.name, t.function?.arguments]),
      [
        [0, 'call_chatcmpl-t_0', 'get_weather', '{"city":"Oslo"}'],
        [1, 'call_chatcmpl-t_1', 'get_weather', '{"city":"Bergen"}'],
      ],
    );
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    assert.equal(chunks.at(-1)?.flowrouter_internal_usage, undefined);
    assert.equal(chunks.at(-1)?.usage?.total_tokens, 17);
  } finally {
    await fake.close();
  }
});

test('a stream cut off before any finishReason fails as a protocol error', async () => {
  const fake = await startFakeGemini(() => ({ sse: [{ candidates: [{ content: { parts: [{ text: 'half' }] } }] }] }));
  try {
    const result = await transport.sendChat(gemini, accountFor(fake), { model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true }, ctx);
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await assert.rejects(collect(result.chunks), (e: unknown) => e instanceof UpstreamError && e.kind === 'protocol');
  } finally {
    await fake.close();
  }
});

test('an error event inside the stream surfaces as a classified UpstreamError', async () => {
  const fake = await startFakeGemini(() => ({
    sse: [
      { candidates: [{ content: { parts: [{ text: 'a' }] } }] },
      { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } },
    ],
  }));
  try {
    const result = await transport.sendChat(gemini, accountFor(fake), { model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true }, ctx);
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await assert.rejects(collect(result.chunks), (e: unknown) => e instanceof UpstreamError && e.kind === 'overloaded');
  } finally {
    await fake.close();
  }
});

const httpErrors: { name: string; reply: ReturnType<typeof googleError>; kind: string; retryMs?: number }[] = [
  {
    name: '429 RESOURCE_EXHAUSTED with RetryInfo',
    reply: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }]),
    kind: 'rate_limit',
    retryMs: 12000,
  },
  { name: '503 UNAVAILABLE', reply: googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.'), kind: 'overloaded' },
  { name: '400 INVALID_ARGUMENT', reply: googleError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'), kind: 'client' },
  {
    name: '400 context too long',
    reply: googleError(400, 'INVALID_ARGUMENT', 'The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).'),
    kind: 'context_length',
  },
];
for (const c of httpErrors) {
  test(`HTTP error through the transport: ${c.name} → ${c.kind}`, async () => {
    const fake = await startFakeGemini(() => c.reply);
    try {
      await assert.rejects(
        transport.sendChat(gemini, accountFor(fake), { model: 'x', messages: [{ role: 'user', content: 'hi' }] }, ctx),
        (e: unknown) =>
          e instanceof UpstreamError && e.kind === c.kind && (c.retryMs === undefined || e.retryAfterMs === c.retryMs) && !e.message.includes('AIza-test-key'),
      );
    } finally {
      await fake.close();
    }
  });
}

test('an account without a key is refused by the fake (403) and classified auth', async () => {
  const fake = await startFakeGemini();
  try {
    const account = { ...accountFor(fake), key: undefined };
    await assert.rejects(
      transport.sendChat(gemini, account, { model: 'x', messages: [{ role: 'user', content: 'hi' }] }, ctx),
      (e: unknown) => e instanceof UpstreamError && e.kind === 'auth',
    );
  } finally {
    await fake.close();
  }
});

test('JSON text reply and a json_schema request pass the fake validation', async () => {
  const fake = await startFakeGemini(() => ({ json: textResponse('{"a":"x"}') }));
  try {
    const result = await transport.sendChat(
      gemini,
      accountFor(fake),
      {
        model: 'x',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'r',
            strict: true,
            schema: { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } }, required: ['a'] },
          },
        },
      },
      ctx,
    );
    assert.equal(fake.rejected.length, 0, JSON.stringify(fake.rejected));
    if (result.kind !== 'json') throw new Error('expected JSON');
    assert.equal(result.response.choices[0].message.content, '{"a":"x"}');
    assert.deepEqual(fake.requests[0].body.generationConfig.responseSchema, { type: 'OBJECT', properties: { a: { type: 'STRING' } }, required: ['a'] });
  } finally {
    await fake.close();
  }
});

test('embeddings through batchEmbedContents against the fake', async () => {
  const fake = await startFakeGemini();
  try {
    const ectx = { ...ctx, model: 'text-embedding-004' };
    const embeddings = gemini.embeddings!;
    const spec = embeddings.request({ model: 'x', input: ['a', 'b'] }, ectx, accountFor(fake));
    const { body } = await transport.sendJson(gemini, accountFor(fake), spec);
    assert.equal(fake.rejected.length, 0, JSON.stringify(fake.rejected));
    assert.deepEqual(embeddings.response(body, ectx), {
      object: 'list',
      model: 'text-embedding-004',
      usage: { prompt_tokens: 0, total_tokens: 0 },
      data: [
        { object: 'embedding', index: 0, embedding: [0, 0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0.5, -0.25] },
      ],
    });
  } finally {
    await fake.close();
  }
});
