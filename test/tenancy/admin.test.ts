// The admin API: closed without a configured admin key, 401 for a wrong one, and the full key lifecycle for the right one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { ADMIN_KEY, call, chat, startNode, type TenancyNode } from './setup.ts';

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
  gw = await startNode(`auth:\n  mode: required\n  admin_key: \${ADMIN_KEY}\n${chains()}`);
});

after(async () => {
  await gw?.stop();
  await fake.close();
});

test('with no admin key configured, /admin is 403 and says how to set one', async () => {
  const open = await startNode(chains());
  try {
    for (const r of [
      await call(open.url, '/admin/keys'),
      await call(open.url, '/admin/keys', { body: { name: 'x' } }),
      await call(open.url, '/admin/keys', { key: 'anything-at-all-0123456789', body: { name: 'x' } }),
    ]) {
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'admin_disabled');
      assert.match(r.json.error.message, /auth\.admin_key/);
    }
    assert.equal(open.node.tenancy.keys.list().length, 0);
  } finally {
    await open.stop();
  }
});

test('a missing or wrong admin key is 401; a client key is not an admin key', async () => {
  const { key } = gw.node.tenancy.keys.create('not-admin');
  for (const presented of [undefined, 'wrong-admin-key-0123456789', key, ADMIN_KEY.slice(0, -1)]) {
    const r = await call(gw.url, '/admin/keys', { key: presented });
    assert.equal(r.status, 401, String(presented));
    assert.equal(r.json.error.type, 'authentication_error');
  }
  gw.node.tenancy.keys.revoke('not-admin');
});

test('create, list, rotate and revoke through the admin API; listings never carry secrets', async () => {
  const created = await call(gw.url, '/admin/keys', {
    key: ADMIN_KEY,
    body: { name: 'globex', chains: ['default'], rpm: 100, budget_usd: 5, budget_period: 'day', expires: '30d' },
  });
  assert.equal(created.status, 201, created.text);
  const { id, key } = created.json;
  assert.match(key, /^fr-/);
  assert.equal(created.json.budget_usd, 5);
  assert.equal((await chat(gw.url, key)).status, 200);

  const listed = await call(gw.url, '/admin/keys', { headers: { 'x-api-key': ADMIN_KEY } });
  assert.equal(listed.status, 200);
  const entry = listed.json.data.find((k: { id: string }) => k.id === id);
  assert.equal(entry.name, 'globex');
  assert.equal(entry.rpm, 100);
  assert.equal(listed.text.includes(key.slice(19)), false);
  assert.equal('key' in entry || 'hash' in entry || 'salt' in entry, false);

  const rotated = await call(gw.url, `/admin/keys/${id}/rotate`, { key: ADMIN_KEY, method: 'POST' });
  assert.equal(rotated.status, 200);
  assert.equal(rotated.json.id, id);
  assert.equal((await chat(gw.url, key)).status, 401);
  assert.equal((await chat(gw.url, rotated.json.key)).status, 200);

  const revoked = await call(gw.url, '/admin/keys/globex', { key: ADMIN_KEY, method: 'DELETE' });
  assert.equal(revoked.status, 200);
  assert.notEqual(revoked.json.revoked_at, null);
  assert.equal((await chat(gw.url, rotated.json.key)).status, 401);
  assert.equal((await call(gw.url, '/admin/keys/globex', { key: ADMIN_KEY, method: 'DELETE' })).status, 404);
});

test('invalid create bodies are 400 in OpenAI shape', async () => {
  for (const body of [{}, { name: 'a', rpm: 0 }, { name: 'a', extra: 1 }, { name: 'a', expires: 'soon' }, { name: 'a', tenant: 'nobody' }]) {
    const r = await call(gw.url, '/admin/keys', { key: ADMIN_KEY, body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.type, 'invalid_request_error');
  }
  const dup = await call(gw.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'twice' } });
  assert.equal(dup.status, 201);
  assert.equal((await call(gw.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'twice' } })).status, 409);
});

test('with auth on, operator endpoints (usage, router status, knowledge, metrics) need the admin key; a client key is not enough', async () => {
  const { key } = gw.node.tenancy.keys.create('operator-probe');
  for (const path of ['/v1/usage', '/v1/usage/export.csv', '/v1/router/status', '/v1/kb/stats', '/metrics']) {
    assert.equal((await call(gw.url, path)).status, 401, `${path} without a key`);
    assert.equal((await call(gw.url, path, { key })).status, 401, `${path} with a client key`);
    assert.equal((await call(gw.url, path, { key: ADMIN_KEY })).status, 200, `${path} with the admin key`);
  }
});
