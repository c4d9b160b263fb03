// Adding a provider is one registry entry: a provider with its own wire format, registered here, works end to end —
// config validation, a real node, chat and streaming, BYOK headers, health probes and the cost strategy — with no other list to edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { UpstreamError } from '../../src/core/errors.ts';
import { registerProvider, type Provider, type SseEvent } from '../../src/providers/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { startTestNode } from '../helpers.ts';

/** "plain": a made-up upstream API unlike OpenAI's — a prompt string in, `output` and `usage.in/out` back, `x-plain-key` auth. */
const plain: Provider = {
  type: 'plain',
  defaultBaseUrl: '',
  baseUrlExample: 'http://<host>:7000',
  selfHosted: true,
  probe: (account) => ({ method: 'GET', path: '/ping', headers: { 'x-plain-key': account.key ?? '' } }),
  chat: {
    request: (req, ctx, account) => ({
      method: 'POST',
      path: '/generate',
      headers: { 'content-type': 'application/json', 'x-plain-key': account.key ?? '' },
      body: { model: ctx.model, prompt: req.messages.map((m) => `${m.role}: ${String(m.content)}`).join('\n'), stream: req.stream === true },
    }),
    response: (body, ctx) => {
      const b = body as { output: string; usage: { in: number; out: number } };
      return {
        id: ctx.id,
        object: 'chat.completion',
        created: ctx.created,
        model: ctx.model,
        choices: [{ index: 0, message: { role: 'assistant', content: b.output }, finish_reason: 'stop' }],
        usage: { prompt_tokens: b.usage.in, completion_tokens: b.usage.out, total_tokens: b.usage.in + b.usage.out },
      };
    },
    stream: (_req, ctx) => {
      let finished = false;
      const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
        id: ctx.id,
        object: 'chat.completion.chunk' as const,
        created: ctx.created,
        model: ctx.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      return {
        get finished() {
          return finished;
        },
        push(event: SseEvent) {
          const data = JSON.parse(event.data) as { text?: string };
          if (event.event === 'end') {
            finished = true;
            return [chunk({}, 'stop')] as never;
          }
          return [chunk({ content: data.text }, null)] as never;
        },
        end: () => [],
      };
    },
  },
  error: (status, body) =>
    new UpstreamError(status === 401 ? 'auth' : status >= 500 ? 'server' : 'client', `plain: ${body.slice(0, 200)}`, { upstreamStatus: status }),
};

interface PlainRequest {
  method: string;
  url: string;
  key: string | undefined;
  body: { prompt?: string; stream?: boolean };
}

async function startPlainUpstream() {
  const requests: PlainRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    for await (const c of req) text += c;
    const key = req.headers['x-plain-key'] as string | undefined;
    requests.push({ method: req.method!, url: req.url!, key, body: text ? JSON.parse(text) : {} });
    if (!key) {
      res.writeHead(401).end('missing x-plain-key');
      return;
    }
    if (req.method === 'GET' && req.url === '/ping') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/generate') {
      res.writeHead(404).end('no such route');
      return;
    }
    const body = JSON.parse(text) as { prompt: string; stream: boolean };
    const output = `plain says: ${body.prompt.split('\n').at(-1)}`;
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output, usage: { in: 11, out: 3 } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const word of output.split(' ')) res.write(`event: token\ndata: ${JSON.stringify({ text: `${word} ` })}\n\n`);
    res.end('event: end\ndata: {}\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const chainYaml = (plainUrl: string, openaiUrl: string) => `router:
  health_check_interval_ms: 50
chains:
  default:
    strategy: cost
    targets:
      - { provider: openai, model: gpt-4o, key: sk-paid, url: "${openaiUrl}" }
      - { provider: plain, model: p-1, key: k-config, url: "${plainUrl}" }
`;

test('a provider type is valid in the config only while it is registered', () => {
  const yaml = 'chains:\n  default:\n    - { provider: plain, model: p-1, url: "http://127.0.0.1:1" }\n';
  assert.throws(
    () => parseConfig(yaml, 'c.yaml', {}),
    (err: Error) => err instanceof ConfigError && /"plain" is neither a provider type \(openai, azure, anthropic, gemini, local\)/.test(err.message),
  );
  const unregister = registerProvider(plain);
  try {
    assert.equal(parseConfig(yaml, 'c.yaml', {}).chains.get('default')!.targets[0].account!.type, 'plain');
    assert.throws(
      () => parseConfig('chains:\n  default:\n    - { provider: plain, model: p-1 }\n', 'c.yaml', {}),
      /c\.yaml:3:7: chains\.default\[0\]\.url: required: plain has no public API, give url \(http:\/\/<host>:7000\)/,
    );
    assert.throws(() => registerProvider(plain), /already registered/);
  } finally {
    unregister();
  }
});

test('a registered provider serves chat and streams through a real node, with BYOK headers, health probes and the cost strategy', async (t) => {
  const unregister = registerProvider(plain);
  t.after(unregister);
  const upstream = await startPlainUpstream();
  t.after(upstream.close);
  const paid = await startFakeOpenAI();
  t.after(() => paid.close());
  const gw = await startTestNode(chainYaml(upstream.url, paid.url));
  t.after(() => gw.stop());
  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hello' }], ...body }),
    });

  const res = await chat({});
  assert.equal(res.status, 200);
  // `cost` ranks the self-hosted provider free, so it goes first although listed second.
  assert.equal(res.headers.get('x-flowrouter-target'), 'default/plain/p-1');
  const json = (await res.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
  assert.equal(json.choices[0].message.content, 'plain says: user: hello');
  assert.deepEqual([json.usage.prompt_tokens, json.usage.completion_tokens], [11, 3]);
  assert.equal(paid.requests.filter((r) => r.url.includes('/chat/')).length, 0);

  const streamed = await chat({ stream: true, messages: [{ role: 'user', content: 'stream please' }] });
  assert.equal(streamed.status, 200);
  const text = await streamed.text();
  const content = text
    .split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '')
    .join('');
  assert.equal(content, 'plain says: user: stream please ');
  assert.ok(text.trimEnd().endsWith('data: [DONE]'));

  const byok = await chat({ messages: [{ role: 'user', content: 'mine' }] }, { 'x-flowrouter-upstream-key-plain': 'k-client' });
  assert.equal(byok.status, 200);
  // The health checker probes every 50 ms with the configured key: the chat request is the last POST.
  assert.equal(upstream.requests.filter((r) => r.method === 'POST').at(-1)!.key, 'k-client');
  const unknown = await chat({}, { 'x-flowrouter-upstream-key-nope': 'x' });
  assert.equal(unknown.status, 400);
  assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /x-flowrouter-upstream-key-plain/);

  const deadline = Date.now() + 5_000;
  while (!upstream.requests.some((r) => r.method === 'GET' && r.url === '/ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.ok(
    upstream.requests.some((r) => r.method === 'GET' && r.url === '/ping' && r.key === 'k-config'),
    "the health checker used the provider's probe",
  );
});
