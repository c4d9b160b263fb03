// Logs: one structured line per chat request, secrets redacted by the logger's configuration, and a pretty format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import { formatPrettyLine, loggerOptions } from '../../src/ops/index.ts';
import { startOpsHarness } from './harness.ts';

function capture(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const SECRETS = [
  'Bearer sk-client-secret-aaaaaaaa',
  'sk-xapi-secret-bbbbbbbb',
  'azure-secret-cccccccc',
  'AIzaGoogleSecretdddddddddddddddddddd',
  'session=cookie-secret-eeee',
  'sk-upstream-secret-ffffffff',
  'sk-config-secret-gggggggg',
  'sk-nested-secret-hhhhhhhh',
];

test('secrets in headers and key fields never reach the log output', async () => {
  const out = capture();
  const app = Fastify({ logger: loggerOptions({ level: 'info', format: 'json', destination: out.stream }) });
  app.get('/echo', async (request) => {
    request.log.info({ headers: request.headers }, 'headers seen');
    request.log.info({ upstream: { request: { headers: request.headers } } }, 'nested headers seen');
    request.log.info({ account: { name: 'main', key: SECRETS[6], config: { apiKey: SECRETS[7] } } }, 'account');
    return { ok: true };
  });
  await app.ready();
  try {
    const res = await app.inject({
      method: 'GET',
      url: '/echo',
      headers: {
        authorization: SECRETS[0],
        'x-api-key': SECRETS[1],
        'api-key': SECRETS[2],
        'x-goog-api-key': SECRETS[3],
        cookie: SECRETS[4],
        'x-flowrouter-upstream-key-openai': SECRETS[5],
        'user-agent': 'redaction-test',
      },
    });
    assert.equal(res.statusCode, 200);
  } finally {
    await app.close();
  }
  const text = out.text();
  assert.match(text, /headers seen/);
  assert.match(text, /redaction-test/, 'harmless headers stay');
  assert.match(text, /"name":"main"/);
  for (const secret of SECRETS) assert.equal(text.includes(secret.split(' ').at(-1)!.slice(0, 16)), false, `leaked ${secret.slice(0, 12)}…`);
  assert.ok((text.match(/\[redacted\]/g) ?? []).length >= 14, text);
});

test('each chat request logs one line with chain, target, attempts, cache, tokens, latency and status', async () => {
  const out = capture();
  const h = await startOpsHarness({ logger: loggerOptions({ level: 'info', format: 'json', destination: out.stream }) });
  try {
    const res = await h.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-client-should-not-appear' });
    assert.equal(res.status, 200);
    await res.json();
  } finally {
    await h.stop();
  }
  const lines = out
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'chat request');
  assert.equal(lines.length, 1);
  const line = lines[0];
  assert.equal(line.chain, 'default');
  assert.equal(line.target, 'default/openai/gpt-4o-mini');
  assert.equal(line.attempts, 1);
  assert.equal(line.status, 200);
  assert.equal(line.promptTokens, 5);
  assert.equal(line.completionTokens, 2);
  assert.equal(typeof line.latencyMs, 'number');
  assert.equal(line.level, 30);
  assert.equal(out.text().includes('sk-client-should-not-appear'), false);
});

test('the pretty format writes time, level, message and key=value fields, still redacted', async () => {
  assert.equal(
    formatPrettyLine('{"level":40,"time":0,"msg":"slow","chain":"default","note":"two words"}'),
    '00:00:00.000 WARN  slow chain=default note="two words"',
  );
  const out = capture();
  const app = Fastify({ logger: loggerOptions({ level: 'info', format: 'pretty', destination: out.stream }) });
  await app.ready();
  app.log.info({ chain: 'default', headers: { authorization: 'Bearer sk-pretty-secret-123456' } }, 'hello');
  await app.close();
  await new Promise((r) => setImmediate(r));
  const text = out.text();
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello chain=default headers=\{"authorization":"\[redacted\]"\}$/m);
  assert.equal(text.includes('sk-pretty-secret'), false);
});
