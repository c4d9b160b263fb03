// The gateway as a drop-in OpenAI endpoint: the official SDK against a real node and a fake OpenAI upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;
let client: OpenAI;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(
    `
chains:
  default:
    - model: gpt-4
      provider: openai
      key: \${OPENAI_KEY}
      url: ${fake.url}
  embed:
    - model: text-embedding-3-small
      provider: openai
      key: sk-embed-secret-123456
      url: ${fake.url}
`,
    { OPENAI_KEY: 'sk-test-secret-abcdef123456' },
  );
  client = new OpenAI({ apiKey: 'any-key', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await fake.close();
});

test('a chat completion goes through with the configured key and comes back in OpenAI shape', async () => {
  const res = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.choices[0].message.content, 'echo: hi');
  assert.equal(res.usage?.total_tokens, 7);
  const sent = fake.requests.at(-1)!;
  assert.equal(sent.headers.authorization, 'Bearer sk-test-secret-abcdef123456');
  assert.equal(sent.body.model, 'gpt-4');
  assert.equal('flowrouter' in sent.body, false);
});

test('the routing decision is named in response headers', async () => {
  const { response } = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }).withResponse();
  assert.equal(response.headers.get('x-flowrouter-chain'), 'default');
  assert.equal(response.headers.get('x-flowrouter-target'), 'default/openai/gpt-4');
  assert.equal(response.headers.get('x-flowrouter-attempts'), '1');
});

test('a streamed completion arrives chunk by chunk and ends cleanly', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'yo' }], stream: true });
  const parts: string[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    parts.push(chunk.choices[0]?.delta?.content ?? '');
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(parts.join(''), 'echo: yo');
  assert.equal(finish, 'stop');
});

test('usage we requested for our own accounting is not shown to a client that did not ask for it', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'u' }], stream: true });
  for await (const chunk of stream) assert.equal(chunk.usage ?? null, null);
  assert.equal(fake.requests.at(-1)!.body.stream_options.include_usage, true);
  const withUsage = await client.chat.completions.create({
    model: 'gpt-4',
    messages: [{ role: 'user', content: 'u' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of withUsage) usage = chunk.usage ?? usage;
  assert.equal(usage?.completion_tokens, 3);
});

test('tools and tool calls pass through', async () => {
  fake.handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: req.body.model,
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
            },
          },
        ],
      }),
    );
    return true;
  };
  try {
    const res = await client.chat.completions.create({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'auto',
    });
    assert.equal(res.choices[0].finish_reason, 'tool_calls');
    const call = res.choices[0].message.tool_calls![0] as { function: { name: string; arguments: string } };
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.equal(fake.requests.at(-1)!.body.tools[0].function.name, 'get_weather');
  } finally {
    fake.handler = null;
  }
});

test('embeddings route to a chain that serves the model', async () => {
  const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
  assert.equal(res.data.length, 2);
  assert.equal(fake.requests.at(-1)!.headers.authorization, 'Bearer sk-embed-secret-123456');
});

test('legacy completions pass through, streaming too', async () => {
  const res = await client.completions.create({ model: 'gpt-4', prompt: 'p' });
  assert.equal(res.choices[0].text, 'legacy: p');
  const stream = await client.completions.create({ model: 'gpt-4', prompt: 'p', stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0].text;
  assert.equal(text, 'legacy');
});

test('/v1/models lists chains and the models they serve', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['default', 'embed', 'gpt-4', 'text-embedding-3-small']);
});

test('an upstream 429 is passed on as 429 with retry-after, and no key appears in the error', async () => {
  fake.handler = (_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(JSON.stringify({ error: { message: 'Rate limit reached for sk-test-secret-abcdef123456', type: 'requests', code: 'rate_limit_exceeded' } }));
    return true;
  };
  try {
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    const text = await res.text();
    assert.equal(text.includes('sk-test-secret-abcdef123456'), false, text);
    assert.equal(JSON.parse(text).error.type, 'rate_limit_error');
  } finally {
    fake.handler = null;
  }
});
