// Tenancy for the Messages and Responses APIs, as deployed: client keys by x-api-key and Bearer, refusals in each API's
// shape, and stored responses that only their owner can read, continue or delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let oa: FakeOpenAI;
let gw: TestNode;

const chains = () => `
chains:
  local:
    - { model: vendor-model, provider: local, url: "${oa.url}" }
  other:
    - { model: other-model, provider: local, url: "${oa.url}" }
`;

before(async () => {
  oa = await startFakeOpenAI();
  gw = await startTestNode(`auth: { mode: required }\n${chains()}`);
});

after(async () => {
  await gw.stop();
  await oa.close();
});

test("a client key works on /v1/messages as x-api-key (the Anthropic SDK's way) and as Bearer; none is Anthropic's authentication_error", async () => {
  const { key, record } = gw.node.tenancy.keys.create('messages-client');
  const viaApiKey = new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
  const m = await viaApiKey.messages.create({ model: 'local', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(m.content[0].type, 'text');
  const viaBearer = new Anthropic({ authToken: key, apiKey: null, baseURL: gw.url, maxRetries: 0 });
  assert.equal((await viaBearer.messages.create({ model: 'local', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })).type, 'message');
  const anonymous = new Anthropic({ apiKey: 'not-a-key', baseURL: gw.url, maxRetries: 0 });
  await assert.rejects(
    anonymous.messages.create({ model: 'local', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    (e: any) => e instanceof Anthropic.AuthenticationError && (e as any).error.type === 'error' && (e as any).error.error.type === 'authentication_error',
  );
  await assert.rejects(anonymous.messages.countTokens({ model: 'local', messages: [{ role: 'user', content: 'hi' }] }), (e: any) => e.status === 401);
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT client_id FROM usage_ledger ORDER BY rowid DESC LIMIT 1').get() as { client_id: string };
  assert.equal(row.client_id, record.id, "the usage row is the key's");
});

test("a key limited to some models is refused others in each API's own error shape", async () => {
  const { key } = gw.node.tenancy.keys.create('narrow', { models: ['local'] });
  await assert.rejects(
    new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).messages.create({
      model: 'other',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    }),
    (e: any) => e instanceof Anthropic.PermissionDeniedError && (e as any).error.error.type === 'permission_error',
  );
  await assert.rejects(
    new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).messages.countTokens({ model: 'other', messages: [{ role: 'user', content: 'x' }] }),
    (e: any) => e.status === 403,
  );
  await assert.rejects(
    new OpenAI({ apiKey: key, baseURL: gw.baseURL, maxRetries: 0 }).responses.create({ model: 'other', input: 'x' }),
    (e: any) => e.status === 403 && e.code === 'model_not_allowed',
  );
});

test("a stored response is its owner's: another key can neither read, list, continue nor delete it", async () => {
  const alice = new OpenAI({ apiKey: gw.node.tenancy.keys.create('alice').key, baseURL: gw.baseURL, maxRetries: 0 });
  const bob = new OpenAI({ apiKey: gw.node.tenancy.keys.create('bob').key, baseURL: gw.baseURL, maxRetries: 0 });
  const mine = await alice.responses.create({ model: 'local', input: "alice's secret" });
  await assert.rejects(bob.responses.retrieve(mine.id), (e: any) => e.status === 404);
  await assert.rejects(bob.responses.inputItems.list(mine.id), (e: any) => e.status === 404);
  await assert.rejects(
    bob.responses.create({ model: 'local', input: 'tell me', previous_response_id: mine.id }),
    (e: any) => e.status === 400 && e.code === 'previous_response_not_found',
  );
  await assert.rejects(bob.responses.delete(mine.id), (e: any) => e.status === 404);
  assert.equal((await alice.responses.retrieve(mine.id)).output_text, "echo: alice's secret", 'still there for its owner');
  const next = await alice.responses.create({ model: 'local', input: 'more', previous_response_id: mine.id });
  assert.equal(next.previous_response_id, mine.id);
});

test('on a node without auth, callers share the anonymous owner; a keyed client never sees anonymous responses, nor they its', async () => {
  const open = await startTestNode(`auth: { mode: optional }\n${chains()}`);
  try {
    const anon1 = new OpenAI({ apiKey: 'anything', baseURL: open.baseURL, maxRetries: 0 });
    const anon2 = new OpenAI({ apiKey: 'something-else', baseURL: open.baseURL, maxRetries: 0 });
    const keyed = new OpenAI({ apiKey: open.node.tenancy.keys.create('carol').key, baseURL: open.baseURL, maxRetries: 0 });
    const shared = await anon1.responses.create({ model: 'local', input: 'anonymous' });
    assert.equal((await anon2.responses.retrieve(shared.id)).id, shared.id);
    await assert.rejects(keyed.responses.retrieve(shared.id), (e: any) => e.status === 404);
    const carols = await keyed.responses.create({ model: 'local', input: 'carol only' });
    await assert.rejects(anon1.responses.retrieve(carols.id), (e: any) => e.status === 404);
  } finally {
    await open.stop();
  }
});
