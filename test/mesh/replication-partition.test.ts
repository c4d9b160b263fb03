// Replication across failures: a partitioned node heals to identical state, and an isolated node still serves its knowledge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, waitFor } from './helpers.ts';
import { converged, replicaSet, snapshot } from './replication-fixture.ts';

test('a node partitioned while both sides edit heals to identical documents, tombstones and search results', { timeout: 60_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add();
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] });
    const c = await set.add({ bootstrap: [addrOf(a.mesh), addrOf(b.mesh)] });
    a.store.putMany(['alpha', 'beta', 'gamma', 'delta'].map((id) => ({ id, text: `${id} original text about rivers` })));
    await converged([a, b, c]);
    const cId = c.mesh.peerId;

    await c.disconnect();
    a.store.put({ id: 'alpha', text: 'alpha edited on the majority side about mountains' });
    a.store.remove('beta');
    b.store.put({ id: 'majority-only', text: 'written while C was away, about glaciers' });
    c.store.put({ id: 'alpha', text: 'alpha edited on the isolated side about deserts' });
    c.store.remove('gamma');
    c.store.put({ id: 'minority-only', text: 'written on C alone, about volcanoes' });
    await converged([a, b]);

    await c.reconnect();
    assert.equal(c.mesh.peerId, cId);
    await converged([a, b, c], 30_000);
    const reference = snapshot(a.store);
    assert.deepEqual(snapshot(b.store), reference);
    assert.deepEqual(snapshot(c.store), reference);
    assert.deepEqual(
      reference.tombstones.map((t) => (t as { id: string }).id),
      ['beta', 'gamma'],
    );
    for (const q of ['glaciers', 'volcanoes', 'rivers', 'alpha']) {
      const ids = (r: typeof a) =>
        r.store
          .search(q)
          .map((h) => h.docId)
          .sort();
      assert.deepEqual(ids(b), ids(a), q);
      assert.deepEqual(ids(c), ids(a), q);
    }
    assert.equal(a.store.search('volcanoes').length, 1);
  } finally {
    await set.close();
  }
});

test('a node cut off from every peer still answers searches from its replicated knowledge', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add();
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] });
    a.store.put({ id: 'offline-runbook', title: 'Offline runbook', text: 'When the uplink fails, switch the pump to manual mode.' });
    await waitFor('replication to B', () => b.store.get('offline-runbook') !== null);

    const aId = a.mesh.peerId;
    await a.disconnect();
    await waitFor('B to be alone', () => b.mesh.libp2p.getConnections().length === 0);
    const hits = b.store.search('pump manual');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].docId, 'offline-runbook');
    assert.equal(b.replicator.status().versions[aId], 1);
  } finally {
    await set.close();
  }
});

test('compacted tombstones stay deleted: a later joiner still receives the deletion and not the document', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const options = { tombstoneHorizonMs: 300 };
    const a = await set.add({}, options);
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] }, options);
    a.store.put({ id: 'retired', text: 'an obsolete procedure about valves' });
    a.store.put({ id: 'retired', text: 'the same obsolete procedure, revised' });
    a.store.remove('retired');
    await converged([a, b]);
    await new Promise((r) => setTimeout(r, 400));
    await b.replicator.syncWith(a.mesh.peerId);
    assert.deepEqual(a.replicator.compact(), { tombstones: 1, ops: 2 });
    assert.equal(a.store.stats().tombstones, 0);

    const late = await set.add({ bootstrap: [addrOf(a.mesh)] }, options);
    await converged([a, b, late]);
    assert.equal(late.store.get('retired'), null);
    assert.deepEqual(late.store.search('valves'), []);
    assert.equal(late.store.stats().documents, 0);
  } finally {
    await set.close();
  }
});

test('ops a node learns by sync are passed on at once to peers that cannot reach their origin', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    // Anti-entropy every 2 minutes: only the relay can explain A holding D's offline edit within the wait below.
    const slow = { syncIntervalMs: 120_000 };
    const b = await set.add({}, slow);
    // A admits only B, so D's ops can reach A through B alone.
    const a = await set.add({ bootstrap: [addrOf(b.mesh)], allowlist: [b.mesh.peerId] }, slow);
    const d = await set.add({ bootstrap: [addrOf(b.mesh)] }, slow);
    await waitFor('A and B in one topic mesh', () => a.mesh.pubsub.getSubscribers('/flowrouter/kb/1').length === 1);
    await d.disconnect();
    d.store.put({ id: 'offline', text: 'written on D while it was away, about tides' });
    await d.reconnect();
    await waitFor("B to pull D's edit", () => b.store.get('offline') !== null);
    await waitFor('A to receive it through B', () => a.store.get('offline') !== null, 5_000);
    assert.equal(
      a.mesh.libp2p.getPeers().some((p) => p.toString() === d.mesh.peerId),
      false,
    );
  } finally {
    await set.close();
  }
});
