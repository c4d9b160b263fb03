// Prompt fingerprints: one per template, whatever the numbers, ids, quoted values or pasted context of each call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promptFingerprint } from '../../src/usage/index.ts';
import type { ChatRequest } from '../../src/core/openai.ts';

const ask = (user: string, system = 'You summarise support tickets.'): ChatRequest => ({
  model: 'm',
  messages: [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ],
});

test('numbers, long ids and quoted values do not split a template; its words and the system prompt do', () => {
  const a = promptFingerprint(ask('Summarise ticket 4711 from "Ada" (id 9f8e7d6c5b4a):  printer jams.'));
  const b = promptFingerprint(ask('Summarise ticket 12 from "Grace" (id 0a1b2c3d4e5f): printer jams.'));
  assert.equal(a, b);
  assert.notEqual(a, promptFingerprint(ask('Translate ticket 4711 from "Ada" (id 9f8e7d6c5b4a): printer jams.')));
  assert.notEqual(a, promptFingerprint(ask('Summarise ticket 4711 from "Ada" (id 9f8e7d6c5b4a): printer jams.', 'You are terse.')));
});

test('context pasted far into a user turn does not split its template', () => {
  const head = `Answer from the context below.\n\n${'Policy text that every call carries. '.repeat(120)}`;
  assert.ok(head.length > 4096);
  assert.equal(promptFingerprint(ask(`${head}\nDocument A: refunds take five days.`)), promptFingerprint(ask(`${head}\nDocument B: shipping is free.`)));
  assert.notEqual(promptFingerprint(ask('Answer briefly. Document A')), promptFingerprint(ask('Answer at length. Document A')));
});
