// RAG building blocks: retrieval within a token budget, context injection after the system messages, offline answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countTokens } from 'gpt-tokenizer';
import { openDatabase } from '../../src/core/database.ts';
import type { ChatMessage } from '../../src/core/openai.ts';
import { KnowledgeStore, injectContext, knowledgeAnswer, retrieveContext } from '../../src/knowledge/index.ts';

function seeded() {
  const db = openDatabase(':memory:');
  const store = new KnowledgeStore(db, 'n');
  store.putMany([
    { id: 'pi', collection: 'hw', source: 'pi.md', title: 'Raspberry Pi', text: 'The Raspberry Pi has no real-time clock, so its time may be wrong at boot.' },
    {
      id: 'ntp',
      collection: 'hw',
      source: 'ntp.md',
      title: 'NTP',
      text: `NTP fixes the clock of a Pi once the network is up. ${'Chrony is one daemon for it. '.repeat(30)}`,
    },
    { id: 'soup', collection: 'food', source: 'soup.md', title: 'Soup', text: 'Tomato soup needs a clock to time the simmering.' },
  ]);
  return { db, store };
}

test('retrieveContext ranks passages for a natural question and keeps within the token budget', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  const all = retrieveContext(store, { query: 'What is wrong with the clock on a Raspberry Pi?', topK: 5, tokenBudget: 10_000 });
  assert.equal(all.passages[0].docId, 'pi');
  assert.equal(all.passages.length, 3);
  assert.equal(
    all.tokens,
    all.passages.reduce((n, p) => n + countTokens(p.text), 0),
  );
  const ntpTokens = countTokens(store.get('ntp')!.text!);
  const tight = retrieveContext(store, { query: 'What is wrong with the clock on a Raspberry Pi?', topK: 5, tokenBudget: ntpTokens - 1 });
  assert.ok(tight.tokens <= ntpTokens - 1);
  assert.ok(!tight.passages.some((p) => p.docId === 'ntp'), 'the passage over budget is skipped');
  assert.ok(
    tight.passages.some((p) => p.docId === 'soup'),
    'a smaller lower-ranked passage still fits',
  );
  const scoped = retrieveContext(store, { query: 'clock', collection: 'food', topK: 5, tokenBudget: 1000 });
  assert.deepEqual(
    scoped.passages.map((p) => p.docId),
    ['soup'],
  );
  assert.deepEqual(retrieveContext(store, { query: '?!', topK: 3, tokenBudget: 100 }), { passages: [], tokens: 0 });
});

test('injectContext puts one delimited context message right after the leading system messages', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'developer', content: 'Cite sources.' },
    { role: 'user', content: 'Why is my Pi clock wrong?' },
    { role: 'system', content: 'late system message' },
  ];
  const passages = [{ id: 'pi#0', docId: 'pi', title: 'Raspberry Pi', source: 'pi.md', text: 'No RTC.' }];
  const out = injectContext(messages, passages);
  assert.equal(out.length, 5);
  assert.deepEqual(
    out.map((m) => m.role),
    ['system', 'developer', 'system', 'user', 'system'],
  );
  const ctx = String(out[2].content);
  assert.match(ctx, /^<knowledge-context>\n/);
  assert.match(ctx, /\[pi#0\] Raspberry Pi \(pi\.md\)\nNo RTC\./);
  assert.match(ctx, /<\/knowledge-context>$/);
  assert.equal(messages.length, 4, 'input untouched');
  assert.deepEqual(
    injectContext([{ role: 'user', content: 'hi' }], passages).map((m) => m.role),
    ['system', 'user'],
  );
  assert.deepEqual(injectContext(messages, []), messages);
});

test('knowledgeAnswer quotes the best passages with their sources, or says nothing was found', (t) => {
  const { db, store } = seeded();
  t.after(() => db.close());
  const answer = knowledgeAnswer(store, { query: 'raspberry clock', topK: 2 });
  assert.match(answer, /^\[pi#0\] Raspberry Pi \(pi\.md\)\nThe Raspberry Pi has no real-time clock/);
  assert.match(answer, /Sources: pi\.md, /);
  assert.equal(knowledgeAnswer(store, { query: 'quantum chromodynamics', topK: 2 }), 'No matching passages were found in the knowledge base.');
});
