// The fake Gemini server refuses what the real API refuses: Gemini 3's missing or foreign thought signatures, bad thinking configs, unsupported media.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGemini, type FakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';

let fake: FakeGemini;
let reply: FakeGeminiReply | undefined;
before(async () => {
  fake = await startFakeGemini(() => reply);
});
after(() => fake.close());

async function generate(model: string, body: unknown) {
  const res = await fetch(`${fake.url}/models/${model}:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

const call = (signature?: string) => ({ functionCall: { name: 'f', args: {} }, ...(signature ? { thoughtSignature: signature } : {}) });
const toolTurn = (signature?: string) => ({
  contents: [
    { role: 'user', parts: [{ text: 'go' }] },
    { role: 'model', parts: [call(signature), call()] },
    { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }, { functionResponse: { name: 'f', response: {} } }] },
  ],
});

test('fake gemini: Gemini 3 refuses a follow-up whose function call lost its thought signature; 2.5 does not check', async () => {
  const r = await generate('gemini-3-pro-preview', toolTurn());
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /Function call is missing a thought_signature/);
  assert.equal((await generate('gemini-2.5-flash', toolTurn())).status, 200);
});

test("fake gemini: a signature it issued, or Google's skip value, is accepted; a made-up one is not", async () => {
  reply = { json: { candidates: [{ index: 0, finishReason: 'STOP', content: { role: 'model', parts: [call('SIG-ISSUED-1')] } }] } };
  await generate('gemini-3-pro-preview', { contents: [{ role: 'user', parts: [{ text: 'go' }] }] });
  reply = undefined;
  assert.equal((await generate('gemini-3-pro-preview', toolTurn('SIG-ISSUED-1'))).status, 200);
  assert.equal((await generate('gemini-3-pro-preview', toolTurn('skip_thought_signature_validator'))).status, 200);
  const forged = await generate('gemini-3-pro-preview', toolTurn('SIG-FORGED'));
  assert.equal(forged.status, 400);
  assert.match(forged.json.error.message, /Thought signature is not valid/);
});

test('fake gemini: unsigned calls in turns before the current one are not checked', async () => {
  const { contents } = toolTurn();
  const r = await generate('gemini-3-pro-preview', {
    contents: [...contents, { role: 'model', parts: [{ text: 'done' }] }, { role: 'user', parts: [{ text: 'next question' }] }],
  });
  assert.equal(r.status, 200);
});

test('fake gemini: a thinking budget and level together, or a level before Gemini 3, are refused', async () => {
  const ask = (model: string, thinkingConfig: unknown) =>
    generate(model, { contents: [{ role: 'user', parts: [{ text: 'x' }] }], generationConfig: { thinkingConfig } });
  assert.match(
    (await ask('gemini-3-pro-preview', { thinkingBudget: 10, thinkingLevel: 'low' })).json.error.message,
    /only one of thinking budget and thinking level/,
  );
  assert.match((await ask('gemini-2.5-flash', { thinkingLevel: 'low' })).json.error.message, /not supported for this model/);
  assert.equal((await ask('gemini-2.5-flash', { thinkingBudget: 1024, includeThoughts: true })).status, 200);
});

test('fake gemini: inline data of a type Gemini does not read is refused', async () => {
  const r = await generate('gemini-2.5-flash', { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/zip', data: 'UEs=' } }] }] });
  assert.match(r.json.error.message, /Unsupported MIME type: application\/zip/);
});
