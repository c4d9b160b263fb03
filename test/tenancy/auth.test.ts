// Client keys over HTTP: required and optional modes, Bearer and x-api-key, expiry, revocation, rotation, hashed storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { call, chat, startNode, type TenancyNode } from './setup.ts';

let fake: FakeOpenAI;
let gw: TenancyNode;

const chains = () => `
chains:
  default:
    - model: gpt-4
      provider: openai
      key: sk-config-secret-0123456789
      url: ${fake.url}
`;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startNode(`auth: { mode: required }\n${chains()}`);
});

after(async () => {
  await gw?.stop();
  await fake.close();
});

function assertOpenAIError(r: { status: number; json: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(r.json.error.type, status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : 'rate_limit_error');
}

test('with auth required, a missing key is a 401 in OpenAI shape', async () => {
  assertOpenAIError(await chat(gw.url, undefined), 401, 'missing_api_key');
  assertOpenAIError(await call(gw.url, '/v1/models'), 401, 'missing_api_key');
  assert.equal(fake.requests.length, 0);
});

test('with auth required, a wrong key is a 401 and is not echoed', async () => {
  const { key } = gw.node.tenancy.keys.create('wrong-test');
  const forged = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  for (const bad of [forged, 'fr-nonsense', 'sk-whatever-123456789']) {
    const r = await chat(gw.url, bad);
    assertOpenAIError(r, 401, 'invalid_api_key');
    assert.equal(r.text.includes(bad), false);
  }
  gw.node.tenancy.keys.revoke('wrong-test');
});

test('a valid key works as Bearer, as x-api-key and through the openai SDK, and names the client', async () => {
  const { key, record } = gw.node.tenancy.keys.create('acme');
  assert.match(key, /^fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}$/);
  assert.equal((await chat(gw.url, key)).status, 200);
  assert.equal((await chat(gw.url, undefined, {}, { 'x-api-key': key })).status, 200);
  const sdk = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const res = await sdk.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'sdk' }] });
  assert.equal(res.choices[0].message.content, 'echo: sdk');
  assert.deepEqual(gw.node.tenancy.authenticate({ authorization: `Bearer ${key}` }), { id: record.id, name: 'acme' });
  // The client's key authenticates it to Flow Router only: the upstream gets the configured key.
  assert.equal(fake.requests.at(-1)!.headers.authorization, 'Bearer sk-config-secret-0123456789');
  gw.node.tenancy.keys.revoke('acme');
});

test('only a salted hash is stored: the secret is nowhere in the database files', async () => {
  const { key } = gw.node.tenancy.keys.create('hashed');
  gw.node.db.pragma('wal_checkpoint(TRUNCATE)');
  const secret = key.slice(19);
  for (const f of ['flowrouter.db', 'flowrouter.db-wal']) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(gw.dataDir, f));
    } catch {
      continue;
    }
    assert.equal(bytes.includes(Buffer.from(secret)), false, f);
  }
  gw.node.tenancy.keys.revoke('hashed');
});

test('an expired key is refused with 401', async () => {
  const { key } = gw.node.tenancy.keys.create('short-lived', { expiresAt: Date.now() + 300 });
  assert.equal((await chat(gw.url, key)).status, 200);
  await new Promise((r) => setTimeout(r, 350));
  assertOpenAIError(await chat(gw.url, key), 401, 'expired_api_key');
});

test('a revoked key is refused at once', async () => {
  const { key } = gw.node.tenancy.keys.create('leaving');
  assert.equal((await chat(gw.url, key)).status, 200);
  gw.node.tenancy.keys.revoke('leaving');
  assertOpenAIError(await chat(gw.url, key), 401, 'revoked_api_key');
});

test('rotation gives a new secret for the same key id; the old secret stops working', async () => {
  const first = gw.node.tenancy.keys.create('rotating');
  const second = gw.node.tenancy.keys.rotate('rotating');
  assert.equal(second.record.id, first.record.id);
  assert.notEqual(second.key, first.key);
  assertOpenAIError(await chat(gw.url, first.key), 401, 'invalid_api_key');
  assert.equal((await chat(gw.url, second.key)).status, 200);
  gw.node.tenancy.keys.revoke('rotating');
});

test('without auth required and with no keys, the single-user mode works as before', async () => {
  const open = await startNode(chains());
  try {
    assert.equal((await chat(open.url, undefined)).status, 200);
    // SDKs insist on some key: a placeholder is accepted in optional mode.
    assert.equal((await chat(open.url, 'any-key')).status, 200);
    // A Flow Router key that is wrong is still refused.
    assert.equal((await chat(open.url, `fr-${'0'.repeat(16)}${'A'.repeat(43)}`)).status, 401);
  } finally {
    await open.stop();
  }
});

test('auth mode none ignores keys entirely', async () => {
  const none = await startNode(`auth: { mode: none }\n${chains()}`);
  try {
    assert.equal((await chat(none.url, `fr-${'0'.repeat(16)}${'A'.repeat(43)}`)).status, 200);
  } finally {
    await none.stop();
  }
});
