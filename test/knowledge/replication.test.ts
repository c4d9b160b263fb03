// The op log as a replication source: version vectors, idempotent remote apply, last-writer-wins, tombstones, compaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { ClientError } from '../../src/core/errors.ts';
import { KnowledgeStore, HybridClock, compareHlc, encodeHlc } from '../../src/knowledge/index.ts';
import type { KnowledgeOp } from '../../src/knowledge/index.ts';

function node(origin: string, now: () => number = Date.now) {
  const db = openDatabase(':memory:');
  return { db, store: new KnowledgeStore(db, origin, { now }) };
}

function sync(from: KnowledgeStore, to: KnowledgeStore, pageSize = 2): number {
  let applied = 0;
  for (let page = from.opsSince(to.versionVector(), pageSize); page.length > 0; page = from.opsSince(to.versionVector(), pageSize)) {
    for (const op of page) if (to.applyRemote(JSON.parse(JSON.stringify(op))) === 'applied') applied++;
  }
  return applied;
}

test('HLC strings order by wall time, then counter, then origin, and a clock never goes backwards', () => {
  let now = 1000;
  const clock = new HybridClock('b', { now: () => now });
  const t1 = clock.tick();
  now = 500;
  const t2 = clock.tick();
  assert.equal(compareHlc(t2, t1), 1);
  assert.equal(compareHlc(encodeHlc({ wall: 5, counter: 0, origin: 'z' }), encodeHlc({ wall: 10, counter: 0, origin: 'a' })), -1);
  assert.equal(compareHlc(encodeHlc({ wall: 5, counter: 1, origin: 'a' }), encodeHlc({ wall: 5, counter: 0, origin: 'z' })), 1);
  clock.receive(encodeHlc({ wall: 2000, counter: 7, origin: 'a' }));
  assert.ok(clock.tick() > encodeHlc({ wall: 2000, counter: 7, origin: 'b' }));
});

test('every local change is an op with the next seq; the version vector counts them', (t) => {
  const { db, store } = node('A');
  t.after(() => db.close());
  store.put({ id: 'd1', text: 'one' });
  store.put({ id: 'd1', text: 'one' });
  store.put({ id: 'd2', text: 'two' });
  store.remove('d1');
  assert.deepEqual(store.versionVector(), { A: 3 });
  const ops = store.opsSince({});
  assert.deepEqual(
    ops.map((o) => [o.seq, o.docId, o.kind]),
    [
      [1, 'd1', 'put'],
      [2, 'd2', 'put'],
      [3, 'd1', 'delete'],
    ],
  );
  assert.ok(ops[0].hlc < ops[1].hlc && ops[1].hlc < ops[2].hlc);
  assert.equal((ops[0].payload as { text: string }).text, 'one');
  assert.deepEqual(
    store.opsSince({ A: 2 }).map((o) => o.seq),
    [3],
  );
});

test('ops replicate in pages, re-applying them is a no-op, and the replica answers the same searches', (t) => {
  const a = node('A');
  const b = node('B');
  t.after(() => {
    a.db.close();
    b.db.close();
  });
  a.store.put({ id: 'x', collection: 'docs', title: 'Solar', text: 'photovoltaic panels on the roof' });
  a.store.put({ id: 'y', text: 'wind turbines' });
  a.store.remove('y');
  assert.equal(sync(a.store, b.store), 3);
  assert.deepEqual(b.store.versionVector(), { A: 3 });
  for (const op of a.store.opsSince({})) assert.equal(b.store.applyRemote(op), 'duplicate');
  assert.equal(b.store.stats().ops, 3);
  assert.deepEqual(
    b.store.search('photovoltaic').map((r) => r.id),
    ['x#0'],
  );
  assert.equal(b.store.get('y'), null);
  assert.equal(b.store.stats().tombstones, 1);
});

test('concurrent writes converge to the higher HLC on both nodes, whatever the delivery order', (t) => {
  let now = 10_000;
  const a = node('A', () => now);
  const b = node('B', () => now);
  t.after(() => {
    a.db.close();
    b.db.close();
  });
  a.store.put({ id: 'doc', text: 'version from A' });
  now += 5;
  b.store.put({ id: 'doc', text: 'version from B' });
  sync(a.store, b.store);
  sync(b.store, a.store);
  assert.equal(a.store.get('doc')?.text, 'version from B');
  assert.equal(b.store.get('doc')?.text, 'version from B');
  assert.equal(a.store.get('doc')?.origin, 'B');
  // A's losing op is still in B's log (recorded, not applied), so B can pass it on.
  assert.deepEqual(b.store.versionVector(), { A: 1, B: 1 });
});

test('a stale op is recorded but does not change the document', (t) => {
  const { db, store } = node('A');
  t.after(() => db.close());
  store.put({ id: 'doc', text: 'current text' });
  const old: KnowledgeOp = {
    origin: 'Z',
    seq: 1,
    hlc: encodeHlc({ wall: 1, counter: 0, origin: 'Z' }),
    docId: 'doc',
    kind: 'put',
    payload: {
      collection: 'default',
      source: '',
      title: 'old',
      tags: [],
      meta: {},
      text: 'ancient text',
      hash: 'h',
      updatedAt: 1,
      chunks: [{ heading: '', start: 0, end: 12 }],
    },
  };
  assert.equal(store.applyRemote(old), 'stale');
  assert.equal(store.applyRemote(old), 'duplicate');
  assert.equal(store.get('doc')?.text, 'current text');
  assert.deepEqual(store.versionVector(), { A: 1, Z: 1 });
  assert.equal(store.search('ancient').length, 0);
});

test('a delete with the same HLC as a put wins; a put never resurrects a newer tombstone', (t) => {
  const { db, store } = node('A');
  t.after(() => db.close());
  const hlc = encodeHlc({ wall: 50, counter: 0, origin: 'Z' });
  const payload = {
    collection: 'default',
    source: '',
    title: 't',
    tags: [],
    meta: {},
    text: 'tied words',
    hash: 'h',
    updatedAt: 1,
    chunks: [{ heading: '', start: 0, end: 10 }],
  };
  assert.equal(store.applyRemote({ origin: 'Z', seq: 1, hlc, docId: 'tie', kind: 'put', payload }), 'applied');
  assert.equal(store.applyRemote({ origin: 'Z', seq: 2, hlc, docId: 'tie', kind: 'delete', payload: { collection: 'default', source: '' } }), 'applied');
  assert.equal(store.get('tie'), null);
  const older = encodeHlc({ wall: 40, counter: 0, origin: 'Y' });
  assert.equal(store.applyRemote({ origin: 'Y', seq: 1, hlc: older, docId: 'tie', kind: 'put', payload }), 'stale');
  assert.equal(store.get('tie'), null);
  assert.equal(store.search('tied').length, 0);
});

test('out-of-order ops fill the gap before the version vector advances', (t) => {
  const { db, store } = node('A');
  t.after(() => db.close());
  const op = (seq: number): KnowledgeOp => ({
    origin: 'Q',
    seq,
    hlc: encodeHlc({ wall: 100 + seq, counter: 0, origin: 'Q' }),
    docId: `d${seq}`,
    kind: 'put',
    payload: {
      collection: 'default',
      source: '',
      title: `t${seq}`,
      tags: [],
      meta: {},
      text: 'text',
      hash: 'h',
      updatedAt: 1,
      chunks: [{ heading: '', start: 0, end: 4 }],
    },
  });
  store.applyRemote(op(2));
  assert.deepEqual(store.versionVector(), { Q: 0 });
  store.applyRemote(op(1));
  assert.deepEqual(store.versionVector(), { Q: 2 });
});

test('remote ops far ahead of the local clock, malformed ops and bad chunk spans are refused', (t) => {
  const now = 1_000_000;
  const { db, store } = node('A', () => now);
  t.after(() => db.close());
  const future = encodeHlc({ wall: now + 3_600_000, counter: 0, origin: 'F' });
  assert.throws(
    () => store.applyRemote({ origin: 'F', seq: 1, hlc: future, docId: 'f', kind: 'delete', payload: { collection: 'default', source: '' } }),
    (e: unknown) => e instanceof ClientError && e.code === 'clock_skew',
  );
  assert.deepEqual(store.versionVector(), {});
  assert.throws(() => store.applyRemote({ origin: 'F', seq: 0, hlc: 'x', docId: 'f', kind: 'put', payload: {} }), ClientError);
  const hlc = encodeHlc({ wall: now, counter: 0, origin: 'F' });
  assert.throws(
    () =>
      store.applyRemote({
        origin: 'F',
        seq: 1,
        hlc,
        docId: 'f',
        kind: 'put',
        payload: {
          collection: 'default',
          source: '',
          title: '',
          tags: [],
          meta: {},
          text: 'ab',
          hash: '',
          updatedAt: 0,
          chunks: [{ heading: '', start: 0, end: 9 }],
        },
      }),
    ClientError,
  );
  assert.throws(() => store.applyRemote({ origin: 'F', seq: 1, hlc, docId: '../x', kind: 'delete', payload: { collection: 'c', source: '' } }), ClientError);
});

test('compaction forgets old tombstones only when every peer has seen them, and empties superseded ops', (t) => {
  let now = 1_000_000;
  const { db, store } = node('A', () => now);
  t.after(() => db.close());
  store.put({ id: 'k', text: 'v1' });
  store.put({ id: 'k', text: 'v2' });
  store.put({ id: 'gone', text: 'bye' });
  store.remove('gone');
  now += 10_000;
  assert.deepEqual(store.compactTombstones(60_000), { tombstones: 0, ops: 0 });
  assert.deepEqual(store.compactTombstones(1_000, [{ A: 3 }, { A: 2 }]), { tombstones: 0, ops: 1 });
  assert.deepEqual(store.compactTombstones(1_000, [{ A: 4 }]), { tombstones: 1, ops: 1 });
  assert.equal(store.stats().tombstones, 0);
  assert.equal(store.stats().ops, 4);
  assert.deepEqual(
    store.opsSince({}).map((o) => o.payload === null),
    [true, false, true, false],
  );
  // The delete op survives compaction, so a late copy of the old put still loses.
  const b = node('B', () => now);
  t.after(() => b.db.close());
  sync(store, b.store);
  assert.equal(b.store.get('k')?.text, 'v2');
  assert.equal(b.store.get('gone'), null);
  const latePut = {
    origin: 'Z',
    seq: 1,
    hlc: encodeHlc({ wall: 1_000_000, counter: 0, origin: 'Z' }),
    docId: 'gone',
    kind: 'put' as const,
    payload: {
      collection: 'default',
      source: '',
      title: '',
      tags: [],
      meta: {},
      text: 'bye',
      hash: '',
      updatedAt: 0,
      chunks: [{ heading: '', start: 0, end: 3 }],
    },
  };
  assert.equal(store.applyRemote(latePut), 'stale');
  assert.equal(store.get('gone'), null);
});

test('the clock resumes after the last stored op when the store is reopened', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const first = new KnowledgeStore(db, 'A', { now: () => 5_000 });
  first.put({ id: 'p', text: 'one' });
  const hlc1 = first.opsSince({})[0].hlc;
  const second = new KnowledgeStore(db, 'A', { now: () => 10 });
  second.put({ id: 'p', text: 'two' });
  const ops = second.opsSince({});
  assert.equal(ops[1].seq, 2);
  assert.ok(ops[1].hlc > hlc1);
});
