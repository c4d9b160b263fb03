// Hostile input to the gateway: every client mistake is a 4xx in the OpenAI error shape, never a 500, a crash or a hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import fc from 'fast-check';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
server:
  body_limit_mb: 1
chains:
  default:
    - model: m
      provider: local
      url: ${fake.url}
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

async function post(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v1/chat/completions') {
  const res = await request(`${gw.url}${path}`, { method: 'POST', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    })(),
  };
}

function assertClientError(r: { status: number; text: string; json: any }, status?: number) {
  assert.ok(r.status >= 400 && r.status < 500, `expected 4xx, got ${r.status}: ${r.text.slice(0, 300)}`);
  if (status) assert.equal(r.status, status, r.text.slice(0, 300));
  assert.equal(typeof r.json?.error?.message, 'string', r.text.slice(0, 300));
  assert.equal(typeof r.json?.error?.type, 'string');
  assert.ok('code' in r.json.error);
}

const valid = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

const cases: [string, string | Buffer, number?][] = [
  ['invalid JSON', '{"model":', 400],
  ['an empty body', '', 400],
  ['a JSON array', '[1,2,3]', 400],
  ['a JSON string', '"hello"', 400],
  ['null', 'null', 400],
  ['model as a number', JSON.stringify({ ...valid, model: 5 }), 400],
  ['messages as an object', JSON.stringify({ ...valid, messages: { role: 'user' } }), 400],
  ['an empty messages list', JSON.stringify({ ...valid, messages: [] }), 400],
  ['an unknown role', JSON.stringify({ ...valid, messages: [{ role: 'wizard', content: 'x' }] }), 400],
  ['content as a number', JSON.stringify({ ...valid, messages: [{ role: 'user', content: 42 }] }), 400],
  ['a content part of unknown type', JSON.stringify({ ...valid, messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }), 400],
  ['temperature as a string', JSON.stringify({ ...valid, temperature: '0.5' }), 400],
  ['temperature out of range', JSON.stringify({ ...valid, temperature: 7 }), 400],
  ['a huge n', JSON.stringify({ ...valid, n: 1e9 }), 400],
  ['a negative max_tokens', JSON.stringify({ ...valid, max_tokens: -1 }), 400],
  ['stream as a string', JSON.stringify({ ...valid, stream: 'yes' }), 400],
  ['tools not a list', JSON.stringify({ ...valid, tools: 'all' }), 400],
  ['a tool message without tool_call_id', JSON.stringify({ ...valid, messages: [{ role: 'tool', content: 'x' }] }), 400],
  [
    'a tool_choice naming no tool',
    JSON.stringify({ ...valid, tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: { type: 'function', function: { name: 'b' } } }),
    400,
  ],
  ['a __proto__ key', '{"model":"m","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}', 400],
  ['a body over the limit', JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }), 413],
  ['deeply nested JSON', '{"model":"m","messages":[{"role":"user","content":"x"}],"metadata":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', undefined],
  [
    'invalid UTF-8',
    Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}],"n":"x"}')]),
    400,
  ],
];

for (const [name, body, status] of cases) {
  test(`${name} is a 4xx in the OpenAI error shape`, async () => {
    assertClientError(await post(body), status);
  });
}

test('error responses carry the request id', async () => {
  const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
  await res.body.text();
  assert.equal(res.statusCode, 400);
  assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('a request without a JSON content type is still read as JSON (curl -d)', async () => {
  const r = await post(JSON.stringify(valid), { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 200, r.text);
});

test('header injection attempts in a model name never reach response headers', async () => {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...valid, model: 'm\r\nx-injected: 1' }),
  });
  await r.body.text();
  assert.equal(r.headers['x-injected'], undefined);
  assert.ok(r.statusCode >= 400 && r.statusCode < 500);
});

test('unknown paths and methods are 404 in the OpenAI shape', async () => {
  const r = await request(`${gw.url}/v1/../../etc/passwd`, { method: 'GET' });
  const json = (await r.body.json()) as any;
  assert.equal(r.statusCode, 404);
  assert.equal(json.error.type, 'not_found_error');
});

test('fuzz: arbitrary JSON bodies never produce a 5xx and the node stays healthy', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.json({ maxDepth: 4 }),
        fc
          .record(
            {
              model: fc.oneof(fc.string(), fc.integer(), fc.constant('m')),
              messages: fc.array(
                fc.record(
                  {
                    role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool', 'x'), fc.string()),
                    content: fc.oneof(
                      fc.string(),
                      fc.integer(),
                      fc.constant(null),
                      fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'x'), text: fc.string() })),
                    ),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 4 },
              ),
              temperature: fc.oneof(fc.double(), fc.string()),
              n: fc.oneof(fc.integer(), fc.string()),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
      ),
      async (body) => {
        const r = await post(body);
        assert.ok(r.status < 500, `5xx for ${body.slice(0, 200)}: ${r.text.slice(0, 200)}`);
        if (r.status >= 400) assertClientError(r);
      },
    ),
    { numRuns: 150 },
  );
  const health = await request(`${gw.url}/health`);
  assert.equal(health.statusCode, 200);
  await health.body.text();
});
