// Any request body is read as JSON whatever its content type, as the README says: Node's fetch sends strings as text/plain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;
const body = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'typed' }] });

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  default:
    - model: gpt-4
      provider: openai
      key: sk-test-0000000000000000
      url: ${fake.url}
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

test("a chat body sent by Node's fetch as a plain string (text/plain;charset=UTF-8) is parsed as JSON", async () => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', body });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(JSON.parse(text).choices[0].message.content, 'echo: typed');
});

for (const type of ['text/plain', 'application/octet-stream', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded']) {
  test(`a chat body with content-type ${type} is parsed as JSON`, async () => {
    const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal(res.status, 200, await res.text());
  });
}

test('a text/plain body that is not JSON gets a 400 invalid_json in the OpenAI shape', async () => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello there' });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_json');
});
