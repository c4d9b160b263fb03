// Response-cache replication: off by default; when on, an entry cached on one node is served from another's cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { CachedAnswer } from '../../src/cache/index.ts';
import { CACHE_TOPIC } from '../../src/mesh/index.ts';
import { addrOf, response, waitFor } from './helpers.ts';
import { replicaSet } from './replication-fixture.ts';

const key = (s: string): string => createHash('sha256').update(s).digest('hex');
const answer = (text: string): CachedAnswer => ({ response: response('m', text), target: 'openai:main' });

test('with cache replication on, an entry cached on A is a hit on B; with it off, nothing travels', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add({}, { replicateCache: true });
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] }, { replicateCache: true });
    const off = await set.add({ bootstrap: [addrOf(a.mesh)] });
    await waitFor('cache topic peers', () => a.mesh.pubsub.getSubscribers(CACHE_TOPIC).length >= 1);
    assert.equal(off.replicator.status().cacheReplication, false);

    a.cache.set(key('question'), answer('the cached answer'), 60);
    const hit = await waitFor('the entry on B', () => b.cache.get(key('question')));
    assert.equal(hit.response.choices[0].message.content, 'the cached answer');
    assert.equal(a.replicator.status().counts.cacheSent, 1);
    assert.equal(b.replicator.status().counts.cacheReceived, 1);
    // The knowledge topic still reaches the node without cache replication, so it was connected all along.
    a.store.put({ id: 'marker', text: 'sent after the cache entry' });
    await waitFor('the marker on the cache-off node', () => off.store.get('marker') !== null);
    assert.equal(off.cache.get(key('question')), undefined);
  } finally {
    await set.close();
  }
});
