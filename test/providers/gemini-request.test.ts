// Table-driven tests of the OpenAI → Gemini request translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toGeminiBody, toGeminiRequest, toGeminiSchema, toGeminiEmbeddingsRequest } from '../../src/providers/gemini/index.ts';
import { ClientError } from '../../src/core/errors.ts';
import type { ChatMessage, ChatRequest } from '../../src/core/openai.ts';
import type { ProviderAccount } from '../../src/providers/types.ts';

const account: ProviderAccount = {
  name: 'g',
  type: 'gemini',
  baseUrl: '',
  key: 'AIza-test-key',
  headers: { 'x-extra': '1' },
  timeouts: { connectMs: 1, firstByteMs: 1, totalMs: 1 },
};
const ctx = { model: 'gemini-2.5-flash', id: 'chatcmpl-1', created: 1 };
const req = (messages: ChatMessage[], extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'x', messages, ...extra });
const call = (id: string, name: string, args: string) => ({ id, type: 'function' as const, function: { name, arguments: args } });

test('request path, method and headers: key only in x-goog-api-key, never in the URL', () => {
  const json = toGeminiRequest(req([{ role: 'user', content: 'hi' }]), ctx, account);
  assert.equal(json.method, 'POST');
  assert.equal(json.path, '/models/gemini-2.5-flash:generateContent');
  assert.deepEqual(json.headers, { 'content-type': 'application/json', 'x-extra': '1', 'x-goog-api-key': 'AIza-test-key' });
  const stream = toGeminiRequest(req([{ role: 'user', content: 'hi' }], { stream: true }), { ...ctx, model: 'models/gemini-pro' }, account);
  assert.equal(stream.path, '/models/gemini-pro:streamGenerateContent?alt=sse');
  for (const spec of [json, stream]) assert.ok(!spec.path.includes('AIza'));
});

const contentCases: { name: string; messages: ChatMessage[]; contents: unknown; system?: unknown }[] = [
  {
    name: 'system and developer messages become systemInstruction',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'developer', content: [{ type: 'text', text: 'Use French.' }] },
      { role: 'user', content: 'hi' },
    ],
    system: { parts: [{ text: 'Be brief.' }, { text: 'Use French.' }] },
    contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
  },
  {
    name: 'assistant becomes model and consecutive same-role messages merge',
    messages: [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'c' },
      { role: 'assistant', content: 'd' },
      { role: 'user', content: 'e' },
    ],
    contents: [
      { role: 'user', parts: [{ text: 'a' }, { text: 'b' }] },
      { role: 'model', parts: [{ text: 'c' }, { text: 'd' }] },
      { role: 'user', parts: [{ text: 'e' }] },
    ],
  },
  {
    name: 'multi-part: text, data-URL image as inlineData, http image as fileData with guessed mime type',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } },
          { type: 'image_url', image_url: { url: 'https://x.test/cat.webp?s=1' } },
          { type: 'image_url', image_url: { url: 'https://x.test/photo' } },
          { type: 'image_url', image_url: { url: 'http://x.test/a.GIF' } },
        ],
      },
    ],
    contents: [
      {
        role: 'user',
        parts: [
          { text: 'look' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0K' } },
          { fileData: { mimeType: 'image/webp', fileUri: 'https://x.test/cat.webp?s=1' } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://x.test/photo' } },
          { fileData: { mimeType: 'image/gif', fileUri: 'http://x.test/a.GIF' } },
        ],
      },
    ],
  },
  {
    name: 'tool calls become functionCall; tool results become user functionResponse named from the call',
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 'get_weather', '{"city":"Oslo"}'), call('c2', 'now', '')] },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp":3}' },
      { role: 'tool', tool_call_id: 'c2', content: '12:00' },
      { role: 'tool', tool_call_id: 'c1', content: '[1,2]' },
    ],
    contents: [
      { role: 'user', parts: [{ text: 'weather?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }, { functionCall: { name: 'now', args: {} } }] },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp: 3 } } },
          { functionResponse: { name: 'now', response: { content: '12:00' } } },
          { functionResponse: { name: 'get_weather', response: { content: '[1,2]' } } },
        ],
      },
    ],
  },
  {
    name: 'assistant text with tool calls keeps both; empty content is dropped',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: 'Let me check.', tool_calls: [call('c', 'f', '  ')] },
      { role: 'user', content: '' },
    ],
    contents: [
      { role: 'user', parts: [{ text: 'x' }] },
      { role: 'model', parts: [{ text: 'Let me check.' }, { functionCall: { name: 'f', args: {} } }] },
    ],
  },
];

for (const c of contentCases) {
  test(`contents: ${c.name}`, () => {
    const body = toGeminiBody(req(c.messages));
    assert.deepEqual(body.contents, c.contents);
    assert.deepEqual(body.systemInstruction, c.system);
  });
}

const clientErrors: { name: string; messages: ChatMessage[]; extra?: Partial<ChatRequest>; param: string }[] = [
  {
    name: 'invalid JSON tool arguments',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', tool_calls: [call('c', 'f', '{oops')] },
    ],
    param: 'messages[1].tool_calls[0].function.arguments',
  },
  {
    name: 'tool result for an unknown call id',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'tool', tool_call_id: 'nope', content: 'r' },
    ],
    param: 'messages[1].tool_call_id',
  },
  { name: 'only system messages', messages: [{ role: 'system', content: 'x' }], param: 'messages' },
  {
    name: 'non-base64 data URL',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,abc' } }] }],
    param: 'messages[0].content[0]',
  },
  {
    name: 'ftp image URL',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/a.png' } }] }],
    param: 'messages[0].content[0]',
  },
  { name: 'temperature above 2', messages: [{ role: 'user', content: 'x' }], extra: { temperature: 2.5 }, param: 'temperature' },
];

for (const c of clientErrors) {
  test(`ClientError 400: ${c.name}`, () => {
    assert.throws(
      () => toGeminiBody(req(c.messages, c.extra)),
      (e: unknown) => e instanceof ClientError && e.status === 400 && e.param === c.param,
    );
  });
}

const configCases: { name: string; extra: Partial<ChatRequest>; config: unknown }[] = [
  { name: 'none set → no generationConfig', extra: {}, config: undefined },
  {
    name: 'sampling, limits, stops, candidates, seed, penalties',
    extra: { temperature: 0.3, top_p: 0.9, max_tokens: 100, stop: 'END', n: 2, seed: 7, presence_penalty: 0.1, frequency_penalty: 0.2 },
    config: {
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 100,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
    },
  },
  {
    name: 'max_completion_tokens wins over max_tokens; stop list',
    extra: { max_tokens: 5, max_completion_tokens: 50, stop: ['a', 'b'] },
    config: { maxOutputTokens: 50, stopSequences: ['a', 'b'] },
  },
  { name: 'json_object', extra: { response_format: { type: 'json_object' } }, config: { responseMimeType: 'application/json' } },
  {
    name: 'json_schema with stripped schema',
    extra: {
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'r', schema: { type: 'object', additionalProperties: false, properties: { a: { type: 'string', title: 'A' } }, required: ['a'] } },
      },
    },
    config: { responseMimeType: 'application/json', responseSchema: { type: 'OBJECT', properties: { a: { type: 'STRING' } }, required: ['a'] } },
  },
];

for (const c of configCases) {
  test(`generationConfig: ${c.name}`, () => {
    assert.deepEqual(toGeminiBody(req([{ role: 'user', content: 'x' }], c.extra)).generationConfig, c.config);
  });
}

const toolChoiceCases: { choice: ChatRequest['tool_choice']; config: unknown }[] = [
  { choice: 'auto', config: { mode: 'AUTO' } },
  { choice: 'required', config: { mode: 'ANY' } },
  { choice: 'none', config: { mode: 'NONE' } },
  { choice: { type: 'function', function: { name: 'get_weather' } }, config: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
  { choice: undefined, config: undefined },
];

for (const c of toolChoiceCases) {
  test(`tool_choice ${JSON.stringify(c.choice)} → functionCallingConfig`, () => {
    const body = toGeminiBody(
      req([{ role: 'user', content: 'x' }], {
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        tool_choice: c.choice,
      }),
    );
    assert.deepEqual(body.toolConfig?.functionCallingConfig, c.config);
  });
}

test('tools become functionDeclarations with stripped parameters; parameterless functions omit parameters', () => {
  const body = toGeminiBody(
    req([{ role: 'user', content: 'x' }], {
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather',
            strict: true,
            parameters: {
              $schema: 'http://json-schema.org/draft-07/schema#',
              type: 'object',
              additionalProperties: false,
              properties: { city: { type: 'string', default: 'Oslo', examples: ['Oslo'] } },
              required: ['city'],
            },
          },
        },
        { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'ping' } },
      ],
    }),
  );
  assert.deepEqual(body.tools, [
    {
      functionDeclarations: [
        { name: 'get_weather', description: 'Weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } },
        { name: 'now' },
        { name: 'ping' },
      ],
    },
  ]);
});

const schemaCases: { name: string; input: unknown; output: unknown }[] = [
  { name: 'not an object', input: undefined, output: undefined },
  {
    name: 'allowlisted keys kept, others dropped recursively',
    input: {
      type: 'object',
      title: 'T',
      description: 'd',
      properties: {
        list: {
          type: 'array',
          minItems: 1,
          maxItems: 3,
          items: { type: 'integer', minimum: 0, maximum: 9, format: 'int32', pattern: 'x', additionalProperties: false },
        },
        when: { type: 'string', format: 'date-time' },
        url: { type: 'string', format: 'uri' },
      },
      required: ['list', 'ghost'],
      propertyOrdering: ['when', 'list'],
    },
    output: {
      type: 'OBJECT',
      description: 'd',
      properties: {
        list: { type: 'ARRAY', minItems: 1, maxItems: 3, items: { type: 'INTEGER', minimum: 0, maximum: 9, format: 'int32' } },
        when: { type: 'STRING', format: 'date-time' },
        url: { type: 'STRING' },
      },
      required: ['list'],
      propertyOrdering: ['when', 'list'],
    },
  },
  {
    name: 'nullable type arrays and null enum members',
    input: { type: ['string', 'null'], enum: ['a', 'b', null] },
    output: { type: 'STRING', nullable: true, enum: ['a', 'b'] },
  },
  {
    name: 'const becomes a one-value enum; numeric enums are dropped',
    input: { type: 'object', properties: { k: { const: 'x' }, n: { type: 'integer', enum: [1, 2] } } },
    output: { type: 'OBJECT', properties: { k: { enum: ['x'], type: 'STRING' }, n: { type: 'INTEGER' } } },
  },
  {
    name: 'local $ref inlined from $defs/definitions, recursion cut',
    input: {
      type: 'object',
      $defs: { Node: { type: 'object', properties: { name: { type: 'string' }, child: { $ref: '#/$defs/Node', description: 'nested' } } } },
      definitions: { Tag: { type: 'string' } },
      properties: { root: { $ref: '#/$defs/Node' }, tag: { $ref: '#/definitions/Tag' }, ext: { $ref: 'http://x/s.json' } },
    },
    output: {
      type: 'OBJECT',
      properties: {
        root: { type: 'OBJECT', properties: { name: { type: 'STRING' }, child: { description: 'nested' } } },
        tag: { type: 'STRING' },
        ext: {},
      },
    },
  },
  {
    name: 'anyOf/oneOf with a null branch collapses to nullable',
    input: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    output: { nullable: true, type: 'STRING' },
  },
  {
    name: 'anyOf of several types stays anyOf',
    input: { oneOf: [{ type: 'string' }, { type: 'number' }] },
    output: { anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] },
  },
  {
    name: 'allOf merged',
    input: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'boolean' } } }] },
    output: { type: 'OBJECT', properties: { a: { type: 'STRING' }, b: { type: 'BOOLEAN' } }, required: ['a'] },
  },
];

for (const c of schemaCases) {
  test(`schema: ${c.name}`, () => assert.deepEqual(toGeminiSchema(c.input), c.output));
}

test('embeddings request: batchEmbedContents with models/ prefix, dimensions, key in header; token arrays refused', () => {
  const spec = toGeminiEmbeddingsRequest({ model: 'x', input: ['a', 'b'], dimensions: 256 }, { ...ctx, model: 'text-embedding-004' }, account);
  assert.equal(spec.path, '/models/text-embedding-004:batchEmbedContents');
  assert.equal(spec.headers['x-goog-api-key'], 'AIza-test-key');
  assert.deepEqual(spec.body, {
    requests: [
      { model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] }, outputDimensionality: 256 },
      { model: 'models/text-embedding-004', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 },
    ],
  });
  assert.deepEqual((toGeminiEmbeddingsRequest({ model: 'x', input: 'one' }, ctx, account).body as { requests: unknown[] }).requests.length, 1);
  assert.throws(() => toGeminiEmbeddingsRequest({ model: 'x', input: [1, 2, 3] }, ctx, account), ClientError);
});
