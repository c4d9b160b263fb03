// A caller's own credential failing (BYOK key, tenant account) never cuts other callers off the shared target.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, openaiError, type FakeOpenAI } from '../fakes/openai.ts';
import { chat, startNode, ADMIN_KEY, call, type TenancyNode } from './setup.ts';

const SHARED_KEY = 'sk-shared-0000000000000000';
const TENANT_KEY = 'sk-acme-own-000000000000000';
const BAD_BYOK = 'sk-byok-invalid-00000000000';

let fake: FakeOpenAI;
let gw: TenancyNode;
let victim: string;
let attacker: string;
let acme: string;
/** What the fake upstream answers for requests made with the tenant's own key. */
let tenantAnswer: { status: number; type: string; code: string | null } | null = null;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startNode(`
auth:
  mode: required
  admin_key: \${ADMIN_KEY}
router: { breaker_failures: 3, breaker_cooldown_ms: 60000 }
providers:
  main: { type: openai, key: ${SHARED_KEY}, base_url: ${fake.url} }
tenants:
  acme:
    accounts:
      main: { key: ${TENANT_KEY} }
chains:
  default:
    - model: gpt-4
      provider: main
`);
  victim = gw.node.tenancy.keys.create('victim').key;
  attacker = gw.node.tenancy.keys.create('attacker').key;
  acme = gw.node.tenancy.keys.create('acme-app', { tenant: 'acme' }).key;
});

beforeEach(() => {
  tenantAnswer = null;
  fake.handler = (req, res) => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer sk-byok-invalid-')) {
      openaiError(res, 401, 'Incorrect API key provided: sk-byok-***', 'invalid_request_error', 'invalid_api_key');
      return true;
    }
    if (auth === `Bearer ${TENANT_KEY}` && tenantAnswer) {
      openaiError(
        res,
        tenantAnswer.status,
        `tenant account says ${tenantAnswer.status}`,
        tenantAnswer.type,
        tenantAnswer.code,
        tenantAnswer.status === 429 ? { 'retry-after': '20' } : {},
      );
      return true;
    }
    return false;
  };
});

after(async () => {
  await gw?.stop();
  await fake.close();
});

async function targetStatus() {
  const r = await call(gw.url, '/v1/router/status', { key: ADMIN_KEY });
  return r.json.targets.find((t: { id: string }) => t.id.includes('gpt-4'));
}

test("a flood of requests with an invalid BYOK key leaves the shared target's breaker closed for everyone else", async () => {
  for (let i = 0; i < 8; i++) {
    const r = await chat(gw.url, attacker, {}, { 'x-flowrouter-upstream-key-openai': BAD_BYOK });
    assert.notEqual(r.status, 200);
  }
  const ok = await chat(gw.url, victim);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${SHARED_KEY}`);
  const t = await targetStatus();
  assert.equal(t.breaker.state, 'closed');
  assert.equal(t.failures, 0, 'the BYOK failures are not counted in the target stats');
});

test('an invalid BYOK key is refused upstream three times, then answered without calling the upstream', async () => {
  const badKey = 'sk-byok-invalid-second-0000000';
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(await chat(gw.url, attacker, {}, { 'x-flowrouter-upstream-key-openai': badKey }));
  assert.equal(fake.requests.filter((r) => r.headers.authorization === `Bearer ${badKey}`).length, 3);
  assert.match(replies.at(-1)!.text, /refused 3 times in a row; not sent upstream again/);
  assert.equal(replies.at(-1)!.text.includes(badKey), false);
  // A different (valid) BYOK key on the same target is not affected by the refused one.
  const good = await chat(gw.url, attacker, {}, { 'x-flowrouter-upstream-key-openai': 'sk-byok-valid-000000000000' });
  assert.equal(good.status, 200, good.text);
});

for (const [status, type, code] of [
  [401, 'invalid_request_error', 'invalid_api_key'],
  [403, 'permission_error', null],
  [402, 'billing_error', null],
  [429, 'requests', 'rate_limit_exceeded'],
] as const) {
  test(`the tenant's own account answering ${status} counts against that account, not the shared target`, async () => {
    tenantAnswer = { status, type, code };
    for (let i = 0; i < 6; i++) assert.notEqual((await chat(gw.url, acme)).status, 200);
    tenantAnswer = null;
    const ok = await chat(gw.url, victim);
    assert.equal(ok.status, 200, ok.text);
    const t = await targetStatus();
    assert.equal(t.breaker.state, 'closed');
    assert.equal(t.failures, 0);
  });
}

test("the shared account's own failures still open the shared breaker", async () => {
  fake.handler = (_req, res) => {
    openaiError(res, 401, 'Incorrect API key provided', 'invalid_request_error', 'invalid_api_key');
    return true;
  };
  for (let i = 0; i < 3; i++) await chat(gw.url, victim);
  const t = await targetStatus();
  assert.equal(t.breaker.state, 'open');
  assert.match((await chat(gw.url, victim)).text, /circuit open/);
});
