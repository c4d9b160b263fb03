// Fall-through through a real node: every upstream failure moves on to the next target; a client's own 4xx never does.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, openaiError, chatResponse, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { closedPort } from './fakes.ts';

let bad: FakeOpenAI;
let good: FakeOpenAI;
let gw: TestNode;
let deadPort: number;

before(async () => {
  bad = await startFakeOpenAI();
  good = await startFakeOpenAI();
  deadPort = await closedPort();
  gw = await startTestNode(`
chains:
  main:
    - { provider: openai, name: bad, model: m-bad, key: sk-bad-secret-key-0123456789, url: ${bad.url}, timeouts: { first_byte_ms: 300 } }
    - { provider: openai, name: good, model: m-good, key: sk-good-secret-key-0123456789, url: ${good.url} }
  refused:
    - { provider: openai, name: dead, model: m-dead, key: sk-x, url: "http://127.0.0.1:${deadPort}/v1" }
    - { provider: openai, name: alive, model: m-good, key: sk-y, url: ${good.url} }
  windows:
    strategy: priority
    context_fallback: true
    targets:
      - { provider: openai, name: small, model: m-small, url: ${bad.url}, context_window: 8000 }
      - { provider: openai, name: smaller, model: m-smaller, url: ${bad.url}, context_window: 4000 }
      - { provider: openai, name: large, model: m-large, url: ${good.url}, context_window: 128000 }
  no-windows:
    - { provider: openai, name: nw-a, model: m-a, url: ${bad.url} }
    - { provider: openai, name: nw-b, model: m-b, url: ${good.url} }
  all-bad:
    - { provider: openai, name: first, model: m1, key: sk-first-secret-0123456789, url: ${bad.url} }
    - { provider: openai, name: second, model: m2, key: sk-second-secret-0123456789, url: ${bad.url} }
router:
  breaker_failures: 1000
`);
});

afterEach(() => {
  bad.handler = null;
  good.handler = null;
});

after(async () => {
  await gw.stop();
  await bad.close();
  await good.close();
});

async function chat(model: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra }),
  });
  return { res, body: extra.stream ? await res.text() : ((await res.json()) as any) };
}

function failWith(status: number, message: string, headers: Record<string, string> = {}, code: string | null = null) {
  bad.handler = (_req, res) => {
    openaiError(res, status, message, status >= 500 ? 'server_error' : 'invalid_request_error', code, headers);
    return true;
  };
}

test('a refused connection falls through to the next target', async () => {
  const { res, body } = await chat('refused');
  assert.equal(res.status, 200);
  assert.equal(body.choices[0].message.content, 'echo: hello');
  assert.equal(res.headers.get('x-flowrouter-target'), 'alive');
  assert.equal(res.headers.get('x-flowrouter-attempts'), '2');
});

test('an upstream that hangs before its headers falls through after first_byte_ms', async () => {
  bad.handler = () => true; // never answers
  const started = performance.now();
  const { res } = await chat('main');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-target'), 'good');
  assert.ok(performance.now() - started < 3000);
});

test('a slow first byte within the deadline is waited for, not abandoned', async () => {
  bad.handler = async (req, res) => {
    await new Promise((r) => setTimeout(r, 120));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatResponse(req.body.model, 'slow but fine')));
    return true;
  };
  const { res, body } = await chat('main');
  assert.equal(res.headers.get('x-flowrouter-target'), 'bad');
  assert.equal(body.choices[0].message.content, 'slow but fine');
});

for (const [what, status, message, code] of [
  ['429 with retry-after', 429, 'Rate limit reached', null],
  ['500', 500, 'The server had an error', null],
  ['503 overloaded', 503, 'The engine is currently overloaded', null],
  ['quota exhausted', 429, 'You exceeded your current quota', 'insufficient_quota'],
] as const) {
  test(`${what} falls through to the next target`, async () => {
    failWith(status, message, { 'retry-after': '1' }, code);
    const { res, body } = await chat('main');
    assert.equal(res.status, 200);
    assert.equal(body.choices[0].message.content, 'echo: hello');
    assert.equal(res.headers.get('x-flowrouter-target'), 'good');
  });
}

test("a client's own 4xx returns at once and never reaches the next target", async () => {
  const before = good.requests.length;
  for (const [status, message] of [
    [400, "Invalid value for 'temperature'"],
    [400, 'Your request was rejected by our content_policy'],
    [404, 'The model does not exist'],
  ] as const) {
    failWith(status, message);
    const { res, body } = await chat('main');
    assert.equal(res.status, status);
    assert.match(body.error.message, new RegExp(message.slice(0, 10).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  assert.equal(good.requests.length, before);
});

test('a context-length error goes on only to a target with a larger context window', async () => {
  failWith(400, "This model's maximum context length is 8192 tokens", {}, 'context_length_exceeded');
  const seenBad = bad.requests.length;
  const { res } = await chat('windows');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-target'), 'large');
  // `smaller` (4000 < 8000) was passed over: only `small` reached the failing upstream.
  assert.deepEqual(
    bad.requests.slice(seenBad).map((r) => r.body.model),
    ['m-small'],
  );
});

test('without context windows in the chain, a context-length error returns to the client', async () => {
  failWith(400, "This model's maximum context length is 8192 tokens", {}, 'context_length_exceeded');
  const { res, body } = await chat('no-windows');
  assert.equal(res.status, 400);
  assert.equal(body.error.code, 'context_length_exceeded');
});

test('a stream falls back transparently when the first target fails before its first chunk', async () => {
  bad.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.destroy();
    return true;
  };
  const { res, body } = await chat('main', { stream: true });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-target'), 'good');
  assert.match(body, /"content":"echo"/);
  assert.match(body, /data: \[DONE\]\n\n$/);
  assert.doesNotMatch(body, /"error"/);
});

test('a stream broken after its first chunk ends with an error event and [DONE]', async () => {
  bad.handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: req.body.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'par' }, finish_reason: null }] })}\n\n`,
    );
    setTimeout(() => res.destroy(), 30);
    return true;
  };
  const { res, body } = await chat('main', { stream: true });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-flowrouter-target'), 'bad');
  const events = body.split('\n\n').filter(Boolean);
  assert.match(events[0], /"content":"par"/);
  assert.match(events.at(-2)!, /^data: \{"error":\{/);
  assert.equal(events.at(-1), 'data: [DONE]');
});

test('when every target fails, the error lists each attempt and no key', async () => {
  failWith(500, 'boom');
  const { res, body } = await chat('all-bad');
  assert.equal(res.status, 502);
  assert.deepEqual(
    body.error.attempts.map((a: any) => [a.target, a.status]),
    [
      ['first', 500],
      ['second', 500],
    ],
  );
  assert.doesNotMatch(JSON.stringify(body), /secret/);
});
