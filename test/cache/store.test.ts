// The cache store on its own: TTL against an injected clock, restarts, corrupted rows, LRU bounds and replication export/import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { CacheStore, cacheKey, checksumOf, type CachedAnswer } from '../../src/cache/index.ts';
import { tempDir } from '../helpers.ts';

function answer(content: string): CachedAnswer {
  return {
    response: {
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    },
    target: 't',
  };
}

function withStore(fn: (ctx: { store: CacheStore; clock: { t: number }; reopen: () => CacheStore; file: string }) => void) {
  const dir = tempDir();
  const file = join(dir.path, 'flowrouter.db');
  const dbs = [openDatabase(file)];
  const clock = { t: 1_000_000 };
  const opts = { maxEntries: 3, maxBytes: 1 << 20, now: () => clock.t };
  try {
    fn({
      store: new CacheStore(dbs[0], opts),
      clock,
      file,
      reopen: () => {
        dbs.at(-1)!.close();
        dbs.push(openDatabase(file));
        return new CacheStore(dbs.at(-1)!, opts);
      },
    });
  } finally {
    for (const db of dbs) if (db.open) db.close();
    dir.remove();
  }
}

test('an entry is served until its TTL passes, then never again', () =>
  withStore(({ store, clock }) => {
    store.set('a'.repeat(64), answer('x'), 10);
    clock.t += 9_999;
    assert.equal(store.get('a'.repeat(64))?.response.choices[0].message.content, 'x');
    clock.t += 1;
    assert.equal(store.get('a'.repeat(64)), undefined);
    assert.equal(store.size.entries, 0);
  }));

test('entries survive a restart, in LRU order', () =>
  withStore(({ store, reopen }) => {
    store.set('k1', answer('one'), 60);
    store.set('k2', answer('two'), 60);
    store.get('k1');
    store.persistRecency();
    const again = reopen();
    assert.equal(again.get('k2')?.response.choices[0].message.content, 'two');
    again.set('k3', answer('three'), 60);
    again.set('k4', answer('four'), 60);
    // k1 was used least recently after the restart (k2 was read), so it goes first.
    assert.equal(again.get('k1'), undefined);
    assert.ok(again.get('k2'));
  }));

test('least recently used entries are evicted past max entries and max bytes', () =>
  withStore(({ store }) => {
    for (const k of ['k1', 'k2', 'k3']) store.set(k, answer(k), 60);
    store.get('k1');
    store.set('k4', answer('k4'), 60);
    assert.equal(store.get('k2'), undefined);
    assert.ok(store.get('k1'));
    assert.equal(store.size.entries, 3);
    const dir = tempDir();
    const db = openDatabase(join(dir.path, 'b.db'));
    try {
      const small = new CacheStore(db, { maxEntries: 100, maxBytes: 400 });
      for (let i = 0; i < 10; i++) small.set(`b${i}`, answer('y'.repeat(50)), 60);
      assert.ok(small.size.bytes <= 400);
      assert.ok(small.get('b9'));
      assert.equal(small.get('b0'), undefined);
    } finally {
      db.close();
      dir.remove();
    }
  }));

test('a corrupted row (bad JSON or checksum mismatch) is dropped, never served', () =>
  withStore(({ store, reopen, file }) => {
    store.set('bad-json', answer('one'), 60);
    store.set('tampered', answer('two'), 60);
    const raw = openDatabase(file);
    try {
      // Bad JSON with a matching checksum: the parse check alone must catch it.
      raw.prepare("UPDATE cache_entries SET body = ?, checksum = ? WHERE key = 'bad-json'").run('{"response": {', checksumOf('{"response": {'));
      raw.prepare("UPDATE cache_entries SET body = replace(body, 'two', 'TWO') WHERE key = 'tampered'").run();
    } finally {
      raw.close();
    }
    const again = reopen();
    assert.equal(again.get('bad-json'), undefined);
    assert.equal(again.get('tampered'), undefined);
    assert.equal(again.size.entries, 0);
  }));

test('an exported entry imports on another store; a tampered or expired one is refused', () =>
  withStore(({ store, clock }) => {
    const key = cacheKey({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }, 'default|m');
    store.set(key, answer('shared'), 60);
    const entry = store.exportEntry(key)!;
    const dir = tempDir();
    const db = openDatabase(join(dir.path, 'peer.db'));
    try {
      const peer = new CacheStore(db, { maxEntries: 10, maxBytes: 1 << 20, now: () => clock.t });
      assert.equal(peer.importEntry({ ...entry, body: entry.body.replace('shared', 'evil') }), false);
      assert.equal(peer.importEntry({ ...entry, expiresAt: clock.t - 1 }), false);
      assert.equal(peer.importEntry(entry), true);
      assert.equal(peer.get(key)?.response.choices[0].message.content, 'shared');
    } finally {
      db.close();
      dir.remove();
    }
  }));

test('the key ignores key order, whitespace, tool-argument spacing and non-answer fields', () => {
  const a = cacheKey(
    {
      model: 'm',
      temperature: 0,
      user: 'u1',
      messages: [
        { role: 'user', content: 'a  b\n\n\nc' },
        { role: 'assistant', content: null, tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: '{"x": 1, "y": 2}' } }] },
      ],
    },
    's',
  );
  const b = cacheKey(
    {
      messages: [
        { content: 'a b\n\nc', role: 'user' },
        { role: 'assistant', content: null, tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: '{"y":2,"x":1}' } }] },
      ],
      temperature: 0,
      model: 'm',
      stream: true,
    },
    's',
  );
  assert.equal(a, b);
  assert.notEqual(a, cacheKey({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'a b\n\nc' }] }, 's'));
  assert.notEqual(cacheKey({ model: 'm', temperature: 0, seed: 1, messages: [] }, 's'), cacheKey({ model: 'm', temperature: 0, seed: 2, messages: [] }, 's'));
  assert.notEqual(cacheKey({ model: 'm', messages: [] }, 's1'), cacheKey({ model: 'm', messages: [] }, 's2'));
});

test('the key tells apart requests that differ in top_k or the thinking switch (they change the answer)', () => {
  const key = (extra: object) => cacheKey({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'x' }], ...extra }, 's');
  assert.notEqual(key({ top_k: 5 }), key({ top_k: 50 }));
  assert.notEqual(key({}), key({ thinking: { type: 'enabled', budget_tokens: 2048 } }));
});
