// Whose upstream account pays: per-tenant accounts and the client's own key (BYOK), which never leaks into responses or logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, openaiError, type FakeOpenAI } from '../fakes/openai.ts';
import { call, chat, startNode, type TenancyNode } from './setup.ts';

const CONFIG_KEY = 'sk-config-main-secret-0123456789';
const TENANT_KEY = 'sk-tenant-acme-secret-0123456789';
const BYOK = 'byok-client-upstream-secret-Zx81QwErTy';

let fake: FakeOpenAI;
let gw: TenancyNode;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startNode(`
providers:
  main:
    type: openai
    key: ${CONFIG_KEY}
    base_url: ${fake.url}
tenants:
  acme:
    accounts:
      main: { key: ${TENANT_KEY}, org: org-acme, project: proj-acme }
chains:
  default:
    - model: gpt-4
      provider: main
    - model: gpt-4
      provider: openai
      name: inline
      url: ${fake.url}
`);
});

after(async () => {
  await gw?.stop();
  await fake.close();
});

test("a tenant's key is billed to the tenant's own account (key, org, project)", async () => {
  const { key } = gw.node.tenancy.keys.create('acme-app', { tenant: 'acme' });
  assert.equal((await chat(gw.url, key)).status, 200);
  const sent = fake.requests.at(-1)!;
  assert.equal(sent.headers.authorization, `Bearer ${TENANT_KEY}`);
  assert.equal(sent.headers['openai-organization'], 'org-acme');
  assert.equal(sent.headers['openai-project'], 'proj-acme');

  assert.equal((await chat(gw.url, undefined)).status, 200);
  const anonymous = fake.requests.at(-1)!;
  assert.equal(anonymous.headers.authorization, `Bearer ${CONFIG_KEY}`);
  assert.equal(anonymous.headers['openai-organization'], undefined);
});

test("a client's own upstream key is used for that request only, for chat, embeddings and completions", async () => {
  const byok = { 'x-flowrouter-upstream-key-openai': BYOK };
  const r = await chat(gw.url, undefined, {}, byok);
  assert.equal(r.status, 200);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${BYOK}`);
  assert.equal((await call(gw.url, '/v1/embeddings', { headers: byok, body: { model: 'gpt-4', input: 'x' } })).status, 200);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${BYOK}`);
  assert.equal((await call(gw.url, '/v1/completions', { headers: byok, body: { model: 'gpt-4', prompt: 'p' } })).status, 200);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${BYOK}`);
  // The next request without the header goes back to the configured key.
  await chat(gw.url, undefined);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${CONFIG_KEY}`);
  // The client's key wins over its tenant's.
  const { key } = gw.node.tenancy.keys.create('acme-byok', { tenant: 'acme' });
  await chat(gw.url, key, {}, byok);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${BYOK}`);
  assert.equal(fake.requests.at(-1)!.headers['openai-organization'], 'org-acme');
});

test('an unknown provider in the upstream-key header is a 400', async () => {
  const r = await chat(gw.url, undefined, {}, { 'x-flowrouter-upstream-key-nope': 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_upstream_key_header');
});

test('keys never leak: upstream errors echoing them, responses, /v1/models, /health, /ready and logs are all clean', async () => {
  // Every upstream refuses and echoes the key it was given, as some providers do.
  fake.handler = (req, res) => {
    openaiError(
      res,
      401,
      `Incorrect API key provided: ${String(req.headers.authorization).replace('Bearer ', '')}`,
      'invalid_request_error',
      'invalid_api_key',
    );
    return true;
  };
  const texts: string[] = [];
  try {
    const byok = { 'x-flowrouter-upstream-key-openai': BYOK };
    const { key } = gw.node.tenancy.keys.create('acme-leak', { tenant: 'acme' });
    for (const r of [
      await chat(gw.url, undefined, {}, byok),
      await chat(gw.url, undefined, { stream: true }, byok),
      await chat(gw.url, key),
      await chat(gw.url, undefined),
      await call(gw.url, '/v1/embeddings', { headers: byok, body: { model: 'gpt-4', input: 'x' } }),
      await call(gw.url, '/v1/completions', { headers: byok, body: { model: 'gpt-4', prompt: 'p' } }),
    ]) {
      assert.ok(r.status >= 400, r.text);
      texts.push(JSON.stringify([...r.headers]), r.text);
    }
  } finally {
    fake.handler = null;
  }
  for (const path of ['/v1/models', '/health', '/ready', '/nowhere']) texts.push((await call(gw.url, path)).text);
  texts.push(gw.logs());
  assert.match(gw.logs(), /Incorrect API key provided/, 'the errors were logged');
  const all = texts.join('\n');
  assert.ok(all.includes('Incorrect API key provided'), 'the upstream errors were seen');
  for (const secret of [BYOK, CONFIG_KEY, TENANT_KEY]) {
    assert.equal(all.includes(secret), false, `leaked ${secret.slice(0, 12)}`);
    assert.equal(all.includes(secret.slice(6, 24)), false, `leaked part of ${secret.slice(0, 12)}`);
  }
});
