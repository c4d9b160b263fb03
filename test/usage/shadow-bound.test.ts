// A hanging shadow candidate holds at most a fixed number of comparisons, however many sampled requests arrive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;

before(async () => {
  // The candidate model never answers; the primary answers at once.
  fake = await startFakeOpenAI(async (req) => req.body.model === 'hanging');
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
      target: { model: hanging, provider: openai, key: sk-test, url: "${fake.url}", name: hanging }
      sample: 1
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

test('100 sampled requests against a hanging candidate keep 32 comparisons running, and stop() ends them', async () => {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', messages: [{ role: 'user', content: `q ${i}` }] }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  assert.equal(gw.node.shadow.running, 32);
  await gw.node.shadow.stop();
  assert.equal(gw.node.shadow.running, 0);
});
