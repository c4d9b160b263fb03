// Model comparison: a chain's sampled traffic is shadowed to a candidate off the client's path, stored, scored and reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, chatResponse, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { compareReport } from '../../src/usage/index.ts';
import { compareCommand } from '../../src/cli/compare.ts';
import { openDatabase } from '../../src/core/database.ts';
import { join } from 'node:path';

let fake: FakeOpenAI;
let gw: TestNode;
// Long enough that a client waiting for the shadow would be obvious even on a loaded machine.
const CANDIDATE_DELAY_MS = 2500;

before(async () => {
  fake = await startFakeOpenAI(async (req, res) => {
    const body = req.body;
    if (body?.model === 'gpt-4o-mini') {
      await new Promise((r) => setTimeout(r, CANDIDATE_DELAY_MS));
      const text = JSON.stringify(
        chatResponse('gpt-4o-mini', 'Paris is the capital of France', { usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } }),
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      return true;
    }
    if (body?.model === 'judge-model') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(chatResponse('judge-model', 'Score: 8')));
      return true;
    }
    if (body?.model === 'gpt-4o' && !body.stream) {
      const text = JSON.stringify(chatResponse('gpt-4o', 'The capital is Paris', { usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      return true;
    }
    return false;
  });
  gw = await startTestNode(`
chains:
  default:
    strategy: priority
    targets:
      - model: gpt-4o
        provider: openai
        key: sk-test
        url: ${fake.url}
    shadow:
      target: { model: gpt-4o-mini, provider: openai, key: sk-test, url: "${fake.url}", name: small }
      sample: 1
      judge: judge
  judge:
    - model: judge-model
      provider: openai
      key: sk-test
      url: ${fake.url}
  unsampled:
    strategy: priority
    targets:
      - model: gpt-4o
        provider: openai
        key: sk-test
        url: ${fake.url}
    shadow:
      target: small
      sample: 0
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

async function ask(model: string, content: string, stream = false) {
  const started = performance.now();
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return performance.now() - started;
}

test('a sampled request is shadowed off the client path and stored with both answers, costs, latencies, agreement and judge score', async () => {
  const ms = await ask('default', 'capital of France?');
  assert.ok(ms < CANDIDATE_DELAY_MS, `the client waited ${ms} ms for the shadow`);
  await ask('default', 'capital of Italy?', true);
  await gw.node.shadow.settle();
  const rows: any[] = gw.node.db.prepare('SELECT * FROM compare_samples ORDER BY id').all();
  assert.equal(rows.length, 2);
  const [r] = rows;
  assert.equal(r.chain, 'default');
  assert.equal(r.primary_answer, 'The capital is Paris');
  assert.equal(r.candidate_answer, 'Paris is the capital of France');
  assert.equal(r.candidate_target, 'small');
  assert.equal(r.primary_cost, (10 * 2.5 + 5 * 10) / 1e6);
  assert.equal(r.candidate_cost, (10 * 0.15 + 4 * 0.6) / 1e6);
  assert.ok(r.candidate_latency_ms >= CANDIDATE_DELAY_MS - 5);
  assert.ok(r.agreement > 0.6 && r.agreement < 1);
  assert.equal(r.judge_score, 8);
  assert.equal(rows[1].primary_answer, 'echo: capital of Italy?');
  assert.equal(
    fake.requests.filter((q) => q.body?.model === 'gpt-4o-mini').every((q) => q.body.stream === false),
    true,
  );
});

test('a chain sampling 0 sends nothing to its candidate', async () => {
  const before = fake.requests.length;
  await ask('unsampled', 'no shadow');
  await gw.node.shadow.settle();
  assert.equal(fake.requests.length, before + 1);
});

test('`flowrouter compare` reports per prompt fingerprint: samples, cost saved, latency change, agreement', async () => {
  const report = compareReport(gw.node.db);
  assert.equal(report.length, 2);
  const paris = report.find((r) => Math.abs(r.primary_cost - 75e-6) < 1e-12)!;
  assert.equal(paris.cost_saved, Math.round(((10 * 2.5 + 5 * 10 - (10 * 0.15 + 4 * 0.6)) / 1e6) * 1e8) / 1e8);
  assert.ok(paris.latency_change_ms > 0);
  let printed = '';
  const file = join(gw.dataDir, 'flowrouter.db');
  await compareCommand(
    () => openDatabase(file),
    (t) => {
      printed += t;
    },
  ).parseAsync([], { from: 'user' });
  const lines = printed.trimEnd().split('\n');
  assert.match(lines[0], /^prompt\s+chain\s+candidate\s+samples\s+failed\s+cost saved\s+primary ms\s+Δ ms\s+agreement\s+judge$/);
  assert.equal(lines.length, 4);
  assert.ok(
    lines.slice(2).every((l) => /\bdefault\s+small\s+1\s+0\s+\$/.test(l) && /\+\d/.test(l)),
    printed,
  );
});
