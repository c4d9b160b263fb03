// A key check does the same work whether the key id exists or not: one salted hash and one constant-time comparison.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { openDatabase } from '../../src/core/database.ts';
import { KeyStore } from '../../src/tenancy/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { chat, startNode } from './setup.ts';

function countingStore() {
  const calls: { saltBytes: number; secret: string }[] = [];
  const db = openDatabase(':memory:');
  const store = new KeyStore(db, {
    origin: 'test-node',
    hash: (salt, secret) => {
      calls.push({ saltBytes: salt.length, secret });
      return createHmac('sha256', salt).update(secret).digest();
    },
  });
  return { store, calls, close: () => db.close() };
}

test('an unknown key id and a known id with a wrong secret each cost exactly one hash of the presented secret', () => {
  const { store, calls, close } = countingStore();
  try {
    const { key } = store.create('victim');
    const id = key.slice(3, 19);
    const secret = 'A'.repeat(43);
    const unknownId = id === '0123456789abcdef' ? 'fedcba9876543210' : '0123456789abcdef';
    calls.length = 0;

    assert.deepEqual(store.verify(`fr-${unknownId}${secret}`), { ok: false, reason: 'unknown' });
    assert.deepEqual(calls, [{ saltBytes: 16, secret }]);

    calls.length = 0;
    assert.deepEqual(store.verify(`fr-${id}${secret}`), { ok: false, reason: 'unknown' });
    assert.deepEqual(calls, [{ saltBytes: 16, secret }]);

    calls.length = 0;
    assert.equal(store.verify(key).ok, true);
    assert.equal(calls.length, 1);
  } finally {
    close();
  }
});

test('over HTTP an unknown key id and a wrong secret for a known id get the same 401 body', async () => {
  const fake = await startFakeOpenAI();
  const gw = await startNode(
    `auth: { mode: required }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      key: sk-config-0000000000000000\n      url: ${fake.url}\n`,
  );
  try {
    const { key } = gw.node.tenancy.keys.create('victim');
    const wrongSecret = `${key.slice(0, 19)}${'B'.repeat(43)}`;
    const unknownId = `fr-${'0'.repeat(16)}${'B'.repeat(43)}`;
    const [a, b] = [await chat(gw.url, wrongSecret), await chat(gw.url, unknownId)];
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.deepEqual(a.json, b.json);
  } finally {
    await gw.stop();
    await fake.close();
  }
});
