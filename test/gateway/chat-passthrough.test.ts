// Chat Completions clients to OpenAI-format targets are a passthrough already: what the gateway does not model
// survives both ways, in JSON and in streams (the request side is in fidelity-e2e.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { chatResponse, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let oa: FakeOpenAI;
let gw: TestNode;
let client: OpenAI;

before(async () => {
  oa = await startFakeOpenAI((req, res) => {
    if (!req.body.stream) {
      const body = chatResponse(req.body.model, 'plain', { service_tier: 'flex', vendor_trace: { id: 't-1' } });
      (body.choices[0].message as any).annotations = [{ type: 'url_citation', url_citation: { url: 'https://example.com' } }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return true;
    }
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: req.body.model, service_tier: 'flex' };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi', vendor_delta: 1 }, finish_reason: null }] })}\n\n`,
    );
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], obfuscation: 'xyz' })}\n\n`);
    res.end('data: [DONE]\n\n');
    return true;
  });
  gw = await startTestNode(`chains:\n  local:\n    - { model: vendor-model, provider: local, url: "${oa.url}" }\n`);
  client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await oa.close();
});

test('unknown fields of an OpenAI-format answer reach the chat client: top level and message', async () => {
  const res: any = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(res.service_tier, 'flex');
  assert.deepEqual(res.vendor_trace, { id: 't-1' });
  assert.equal(res.choices[0].message.annotations[0].type, 'url_citation');
});

test('unknown fields of OpenAI-format stream chunks reach the chat client: chunk and delta', async () => {
  const chunks: any[] = [];
  for await (const c of await client.chat.completions.create({ model: 'local', stream: true, messages: [{ role: 'user', content: 'x' }] })) chunks.push(c);
  assert.equal(chunks[0].service_tier, 'flex');
  assert.equal(chunks[0].choices[0].delta.vendor_delta, 1);
  assert.equal(chunks[1].obfuscation, 'xyz');
});
