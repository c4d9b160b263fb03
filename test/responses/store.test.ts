// The stored-responses store and its retention job: owners, conversations as chains of turns, expiry, pruning in slices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { ResponseStore, RetentionJob, ownerOf, type StoredTurn } from '../../src/responses/index.ts';

function setup(retentionMs = 60_000) {
  let now = 1_000_000;
  const db = openDatabase(':memory:');
  const store = new ResponseStore(db, { retentionMs: () => retentionMs, now: () => now });
  return {
    db,
    store,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const turn = (id: string, previousId: string | null, text: string): StoredTurn => ({
  id,
  previousId,
  input: [{ role: 'user', content: text }],
  response: {
    id,
    output: [
      {
        type: 'message',
        id: `msg_${id}`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: `re: ${text}`, annotations: [], logprobs: [] }],
      },
    ],
  } as any,
});

test('owners: a key owns by its id, every keyless caller is the anonymous owner', () => {
  assert.equal(ownerOf({ id: 'k1' }), 'key:k1');
  assert.equal(ownerOf(undefined), 'anonymous');
  assert.notEqual(ownerOf({ id: 'anonymous' }), ownerOf(undefined), 'a key can never be mistaken for the anonymous owner');
});

test("a conversation is the chain of previous turns, oldest first, each turn's input then its output", () => {
  const { store } = setup();
  store.save('key:a', turn('r1', null, 'one'));
  store.save('key:a', turn('r2', 'r1', 'two'));
  store.save('key:a', turn('r3', 'r2', 'three'));
  const items = store.conversation('r3', 'key:a');
  assert.deepEqual(
    items.map((i: any) => i.content?.[0]?.text ?? i.content),
    ['one', 're: one', 'two', 're: two', 'three', 're: three'],
  );
  assert.throws(
    () => store.conversation('r3', 'key:b'),
    (e: any) => e.code === 'previous_response_not_found',
    "another owner's chain is not found",
  );
});

test('a turn missing in the middle of a chain is named in the error rather than silently skipped', () => {
  const { store } = setup();
  store.save('o', turn('r1', null, 'one'));
  store.save('o', turn('r2', 'r1', 'two'));
  store.save('o', turn('r3', 'r2', 'three'));
  assert.equal(store.delete('r2', 'o'), true);
  assert.equal(store.delete('r2', 'o'), false);
  assert.throws(
    () => store.conversation('r3', 'o'),
    (e: any) => e.status === 400 && /continues 'r2'/.test(e.message),
  );
});

test('past retention a turn is gone at once; pruning deletes only expired turns, in batches of the size asked', () => {
  const { db, store, advance } = setup(10_000);
  for (let i = 0; i < 7; i++) store.save('o', turn(`old${i}`, null, 'x'));
  advance(6_000);
  store.save('o', turn('young', null, 'y'));
  advance(5_000);
  assert.equal(store.get('old0', 'o'), undefined);
  assert.equal(store.get('young', 'o')?.id, 'young');
  assert.deepEqual([store.pruneBatch(3), store.pruneBatch(3), store.pruneBatch(3)], [3, 3, 1]);
  assert.deepEqual(db.prepare('SELECT id FROM responses').all(), [{ id: 'young' }]);
});

test('the retention job prunes in slices with the event loop free between them, and stop() ends it', async () => {
  const { store, advance } = setup(1_000);
  for (let i = 0; i < 10; i++) store.save('o', turn(`r${i}`, null, 'x'));
  advance(2_000);
  const job = new RetentionJob(store, { intervalMs: 60_000, batch: 4, firstRunMs: 60_000 });
  const log: (number | string)[] = [];
  const original = store.pruneBatch.bind(store);
  store.pruneBatch = (limit: number) => {
    const n = original(limit);
    log.push(n);
    return n;
  };
  job.start();
  const pass = job.runOnce();
  setImmediate(() => log.push('other work'));
  assert.equal(await pass, 10);
  // Work queued after the pass began runs before it ends: a pass that never yielded would log it last.
  assert.deepEqual(log, [4, 4, 'other work', 2]);
  await job.stop();
  await job.stop();
});
