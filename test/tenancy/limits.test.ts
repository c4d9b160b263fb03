// Per-key limits through a real node: RPM, TPM settled from real usage, USD budgets under concurrency and across restarts, allowed chains/models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';
import { chat, call, startNode, type TenancyNode } from './setup.ts';

let fake: FakeOpenAI;
let gw: TenancyNode;
const dir = tempDir('flowrouter-limits-');

// `pricey` costs exactly $1 per output token, so a request's cost is its completion tokens in dollars.
const yaml = () => `
auth: { mode: required }
prices:
  pricey: { input: 0, output: 1000000 }
  embed-pricey: { input: 1000000, output: 0 }
chains:
  default:
    - model: pricey
      provider: openai
      key: sk-config-secret-0123456789
      url: ${fake.url}
  embed:
    - model: embed-pricey
      provider: openai
      key: sk-config-secret-0123456789
      url: ${fake.url}
  other:
    - model: gpt-4
      provider: openai
      key: sk-config-secret-0123456789
      url: ${fake.url}
`;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startNode(yaml(), { dataDir: dir.path });
});

after(async () => {
  await gw?.stop();
  await fake.close();
  dir.remove();
});

test('RPM: requests over the per-minute limit are 429 with retry-after', async () => {
  const { key } = gw.node.tenancy.keys.create('rpm-3', { rpm: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await chat(gw.url, key)).status, 200);
  const r = await chat(gw.url, key);
  assert.equal(r.status, 429);
  assert.equal(r.json.error.type, 'rate_limit_error');
  assert.match(r.json.error.message, /3 requests per minute/);
  const wait = Number(r.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 60, String(wait));
});

test('TPM: tokens are reserved before (prompt + max_tokens) and settled to the real usage after', async () => {
  const { key } = gw.node.tenancy.keys.create('tpm-100', { tpm: 100 });
  const sent = fake.requests.length;
  // "hi" estimates to 5 prompt tokens, so each request reserves 90; the fake reports 7 used.
  assert.equal((await chat(gw.url, key, { max_tokens: 85 })).status, 200);
  // Only fits because the first request was settled down to 7 tokens: 7 + 90 ≤ 100.
  assert.equal((await chat(gw.url, key, { max_tokens: 85 })).status, 200);
  // 7 + 7 + 90 > 100.
  const over = await chat(gw.url, key, { max_tokens: 85 });
  assert.equal(over.status, 429);
  assert.equal(over.json.error.code, 'tokens_per_minute_exceeded');
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  const huge = await chat(gw.url, key, { max_tokens: 500 });
  assert.equal(huge.status, 429);
  assert.match(huge.json.error.message, /more than the 100 tokens per minute/);
  assert.equal(fake.requests.length, sent + 2);
});

test('a budget raced by 20 concurrent requests lets at most its worth through', async () => {
  // Each request reserves max_tokens 2 → $2 and really costs $2; the budget is $10: five requests.
  const { key, record } = gw.node.tenancy.keys.create('racer', { budgetUsd: 10, budgetPeriod: 'day' });
  const previous = fake.handler;
  fake.handler = async () => {
    await new Promise((r) => setTimeout(r, 100));
    return false;
  };
  try {
    const replies = await Promise.all(Array.from({ length: 20 }, () => chat(gw.url, key, { model: 'pricey', max_tokens: 2 })));
    const ok = replies.filter((r) => r.status === 200).length;
    assert.ok(ok <= 5, `${ok} succeeded`);
    assert.equal(ok, 5);
    for (const r of replies.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'budget_exceeded');
    }
  } finally {
    fake.handler = previous;
  }
  assert.equal(gw.node.tenancy.budgets.spent(record.id, 'day'), 10);
  const after = await chat(gw.url, key, { model: 'pricey', max_tokens: 1 });
  assert.equal(after.status, 429);
  assert.match(after.json.error.message, /daily budget of key "racer" is exhausted: \$10\.00 of \$10\.00 spent/);
  assert.ok(Number(after.headers.get('retry-after')) > 1);
});

test('streamed answers settle the budget from the usage in the stream', async () => {
  const { key, record } = gw.node.tenancy.keys.create('streamer', { budgetUsd: 100 });
  const r = await chat(gw.url, key, { model: 'pricey', stream: true, max_tokens: 10 });
  assert.equal(r.status, 200);
  assert.match(r.text, /data: \[DONE\]/);
  // The fake streams three content parts and reports completion_tokens 3.
  assert.equal(gw.node.tenancy.budgets.spent(record.id, 'month'), 3);
});

test('spend survives a restart: an exhausted budget stays exhausted', async () => {
  const { key, record } = gw.node.tenancy.keys.create('persistent', { budgetUsd: 2, budgetPeriod: 'month' });
  assert.equal((await chat(gw.url, key, { model: 'pricey', max_tokens: 2 })).status, 200);
  await gw.stop();
  gw = await startNode(yaml(), { dataDir: dir.path });
  assert.equal(gw.node.tenancy.budgets.spent(record.id, 'month'), 2);
  const r = await chat(gw.url, key, { model: 'pricey', max_tokens: 1 });
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 'budget_exceeded');
});

test('allowed chains and models: anything else is 403', async () => {
  const { key: chainKey } = gw.node.tenancy.keys.create('chain-only', { chains: ['default'] });
  assert.equal((await chat(gw.url, chainKey, { model: 'pricey' })).status, 200);
  assert.equal((await chat(gw.url, chainKey, { model: 'default' })).status, 200);
  const denied = await chat(gw.url, chainKey, { model: 'gpt-4' });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error.code, 'chain_not_allowed');
  assert.equal(denied.json.error.type, 'permission_error');

  const { key: modelKey } = gw.node.tenancy.keys.create('model-only', { models: ['gpt-4*'] });
  assert.equal((await chat(gw.url, modelKey, { model: 'gpt-4' })).status, 200);
  const other = await chat(gw.url, modelKey, { model: 'pricey' });
  assert.equal(other.status, 403);
  assert.equal(other.json.error.code, 'model_not_allowed');
  const emb = await call(gw.url, '/v1/embeddings', { key: modelKey, body: { model: 'pricey', input: 'x' } });
  assert.equal(emb.status, 403);
});

test('embeddings count against the budget too: reserved on the estimate, settled on the reported usage', async () => {
  // embed-pricey costs $1 per input token; the fake reports one prompt token per input.
  const { key } = gw.node.tenancy.keys.create('embedder', { budgetUsd: 2, budgetPeriod: 'day' });
  const embed = () =>
    fetch(`${gw.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'embed-pricey', input: 'a' }),
    });
  assert.equal((await embed()).status, 200);
  assert.equal((await embed()).status, 200);
  const over = await embed();
  assert.equal(over.status, 429);
  assert.equal(((await over.json()) as { error: { code: string } }).error.code, 'budget_exceeded');
});

test('naming the chain instead of a model does not bypass the budget: holds are priced on the model of the target tried', async () => {
  // "model": "default" is a chain name with no price; its target's model `pricey` costs $2 for max_tokens 2.
  const { key, record } = gw.node.tenancy.keys.create('chain-namer', { budgetUsd: 10, budgetPeriod: 'day' });
  const previous = fake.handler;
  fake.handler = async () => {
    await new Promise((r) => setTimeout(r, 100));
    return false;
  };
  try {
    const replies = await Promise.all(Array.from({ length: 50 }, () => chat(gw.url, key, { model: 'default', max_tokens: 2 })));
    assert.equal(replies.filter((r) => r.status === 200).length, 5);
    for (const r of replies.filter((x) => x.status !== 200)) assert.equal(r.json.error.code, 'budget_exceeded', r.text);
  } finally {
    fake.handler = previous;
  }
  assert.equal(gw.node.tenancy.budgets.spent(record.id, 'day'), 10);
});

test('legacy completions, JSON and streamed, count against the budget and write usage rows', async () => {
  const { key, record } = gw.node.tenancy.keys.create('legacy', { budgetUsd: 2, budgetPeriod: 'day' });
  const complete = (stream: boolean) => call(gw.url, '/v1/completions', { key, body: { model: 'pricey', prompt: 'say', max_tokens: 1, stream } });
  const json = await complete(false);
  assert.equal(json.status, 200, json.text);
  assert.equal(json.json.choices[0].text, 'legacy: say');
  const sse = await complete(true);
  assert.equal(sse.status, 200);
  assert.match(sse.text, /"text":"legacy"[\s\S]*data: \[DONE\]/);
  // $1 each: the JSON answer reports 1 completion token; the stream's one word is counted.
  assert.equal(gw.node.tenancy.budgets.spent(record.id, 'day'), 2);
  const over = await complete(false);
  assert.equal(over.status, 429);
  assert.equal(over.json.error.code, 'budget_exceeded');
  gw.node.usage.flush();
  const rows = gw.node.db
    .prepare("SELECT status, cost, stream FROM usage_ledger WHERE client_id = ? AND fingerprint = 'completions' ORDER BY id")
    .all(record.id) as { status: number; cost: number; stream: number }[];
  assert.deepEqual(rows, [
    { status: 200, cost: 1, stream: 0 },
    { status: 200, cost: 1, stream: 1 },
    { status: 429, cost: 0, stream: 0 },
  ]);
});

test('embeddings write usage rows with their cost', async () => {
  const { key, record } = gw.node.tenancy.keys.create('embed-rows', {});
  const r = await call(gw.url, '/v1/embeddings', { key, body: { model: 'embed-pricey', input: ['a', 'b'] } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-flowrouter-chain'), 'embed');
  gw.node.usage.flush();
  const rows = gw.node.db.prepare('SELECT prompt_tokens, completion_tokens, cost, chain FROM usage_ledger WHERE client_id = ?').all(record.id);
  assert.deepEqual(rows, [{ prompt_tokens: 2, completion_tokens: 0, cost: 2, chain: 'embed' }]);
});
