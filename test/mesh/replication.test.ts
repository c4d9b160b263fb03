// Knowledge replication between real loopback nodes: adds, deletes and concurrent edits reach every node and agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, waitFor } from './helpers.ts';
import { converged, replicaSet, snapshot } from './replication-fixture.ts';
import type { ReplicaSet } from './replication-fixture.ts';

async function threeNodes(set: ReplicaSet) {
  const a = await set.add();
  const b = await set.add({ bootstrap: [addrOf(a.mesh)] });
  const c = await set.add({ bootstrap: [addrOf(a.mesh), addrOf(b.mesh)] });
  // Gossip needs the topic mesh formed: wait until each node sees the other two subscribed.
  for (const r of [a, b, c]) await waitFor('topic peers', () => r.mesh.pubsub.getSubscribers('/flowrouter/kb/1').length >= 2);
  return [a, b, c] as const;
}

test('a document added on A becomes searchable on B and C, and its deletion propagates', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const [a, b, c] = await threeNodes(set);
    a.store.put({ id: 'kiwi', title: 'Kiwi care', text: 'The kiwi bird forages at night for grubs and earthworms.' });
    for (const r of [b, c]) {
      await waitFor('the document on a peer', () => r.store.search('earthworms').length === 1);
      assert.equal(r.store.get('kiwi')?.title, 'Kiwi care');
      assert.equal(r.store.get('kiwi')?.origin, a.mesh.peerId);
    }
    assert.ok(a.replicator.status().counts.opsSent >= 1);
    assert.ok(b.replicator.status().counts.opsApplied >= 1);

    assert.equal(a.store.remove('kiwi'), true);
    for (const r of [b, c]) {
      await waitFor('the deletion on a peer', () => r.store.get('kiwi') === null);
      assert.deepEqual(r.store.search('earthworms'), []);
      assert.equal(r.store.stats().tombstones, 1);
    }
    await converged([a, b, c]);
    assert.deepEqual(snapshot(b.store), snapshot(a.store));
    assert.deepEqual(snapshot(c.store), snapshot(a.store));
  } finally {
    await set.close();
  }
});

test('concurrent edits of one document on A and B converge to the same winner everywhere', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const [a, b, c] = await threeNodes(set);
    for (let round = 0; round < 5; round++) {
      a.store.put({ id: 'shared', text: `version from A, round ${round}` });
      b.store.put({ id: 'shared', text: `version from B, round ${round}` });
    }
    await converged([a, b, c]);
    const winner = a.store.get('shared');
    assert.ok(winner);
    assert.match(winner.text ?? '', /round 4$/);
    assert.deepEqual(b.store.get('shared'), winner);
    assert.deepEqual(c.store.get('shared'), winner);
    assert.deepEqual(snapshot(b.store), snapshot(a.store));
    assert.deepEqual(snapshot(c.store), snapshot(a.store));
  } finally {
    await set.close();
  }
});

test('a node joining after 1,000 changes catches up through sync, including deletions', { timeout: 60_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add();
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] });
    await waitFor('topic peers', () => a.mesh.pubsub.getSubscribers('/flowrouter/kb/1').length >= 1);
    a.store.putMany(Array.from({ length: 600 }, (_, i) => ({ id: `doc-${i}`, text: `Document number ${i} about topic-${i % 7}` })));
    b.store.putMany(Array.from({ length: 300 }, (_, i) => ({ id: `b-doc-${i}`, text: `B wrote document ${i}` })));
    for (let i = 0; i < 100; i++) a.store.remove(`doc-${i}`);
    await converged([a, b]);

    const late = await set.add({ bootstrap: [addrOf(a.mesh)] });
    await converged([a, b, late], 30_000);
    assert.equal(late.store.versionVector()[a.mesh.peerId], 700);
    assert.equal(late.store.versionVector()[b.mesh.peerId], 300);
    assert.deepEqual(snapshot(late.store), snapshot(a.store));
    assert.equal(late.store.stats().documents, 800);
    assert.equal(late.store.search('topic-3', { limit: 200 }).length, a.store.search('topic-3', { limit: 200 }).length);
    // It may have caught up through B first: its own sync with A still completes and reports nothing behind.
    const peerRow = await waitFor("the late node's sync with A", () => late.replicator.status().peers.find((p) => p.peerId === a.mesh.peerId && p.lastSyncAt));
    assert.equal(peerRow.opsBehind, 0);
  } finally {
    await set.close();
  }
});

test('a document too big for gossip is announced with a notice and fetched over sync', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    // A long sync interval: only the notice can explain the document arriving within the wait below.
    const options = { maxGossipBytes: 4 * 1024, syncIntervalMs: 120_000 };
    const a = await set.add({}, options);
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] }, options);
    await waitFor(
      'topic peers',
      () => a.mesh.pubsub.getSubscribers('/flowrouter/kb/1').length >= 1 && b.mesh.pubsub.getSubscribers('/flowrouter/kb/1').length >= 1,
    );
    // B syncs with A on connect and again when A's subscription reaches it; let both finish so that no sync is left
    // in flight that could fetch the document before the notice does.
    await b.replicator.syncWith(a.mesh.peerId);
    const notices: string[] = [];
    b.mesh.pubsub.addEventListener('gossipsub:message', (evt) => {
      notices.push((JSON.parse(new TextDecoder().decode(evt.detail.msg.data)) as { t: string }).t);
    });
    const text = 'A very long manual page about turbine maintenance. '.repeat(400);
    a.store.put({ id: 'manual', text });
    await waitFor('the big document on B', () => b.store.get('manual') !== null, 10_000);
    assert.equal(b.store.get('manual')?.text, text);
    assert.deepEqual(notices, ['have']);
  } finally {
    await set.close();
  }
});
