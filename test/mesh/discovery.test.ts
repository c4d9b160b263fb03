// Joining through one bootstrap peer and learning peers' capacity, directly and through the DHT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, capacity, echoServe, FAST_TIMING, forwardToBest, request, testMesh, waitFor } from './helpers.ts';

test('a node joining through one bootstrap peer learns about the others and their capacity', { timeout: 30_000 }, async () => {
  const mesh = testMesh();
  try {
    const a = await mesh.add({ nodeName: 'a' }, { capacity: () => capacity(['model-a']) });
    const b = await mesh.add({ nodeName: 'b', bootstrap: [addrOf(a)] }, { capacity: () => capacity(['model-b'], { freeConcurrency: 7 }) });
    const c = await mesh.add({ nodeName: 'c', bootstrap: [addrOf(a)] }, { capacity: () => capacity([]) });

    // C was only told about A; it must find B through A (DHT routing) and get B's record over the direct protocol.
    const rowB = await waitFor('C to see B with its capacity', () => c.peers().find((p) => p.peerId === b.peerId && p.capacity), 15_000);
    assert.deepEqual(rowB.capacity?.models, ['model-b']);
    assert.equal(rowB.capacity?.freeConcurrency, 7);
    assert.equal(rowB.nodeName, 'b');
    assert.equal(rowB.health, 'healthy');
    const rowA = await waitFor('C to see A', () => c.peers().find((p) => p.peerId === a.peerId && p.capacity));
    assert.deepEqual(rowA.capacity?.models, ['model-a']);
    assert.ok(rowA.addresses.some((x) => x.startsWith('/ip4/127.0.0.1/tcp/')));
    await waitFor('a ping RTT for A', () => c.peers().find((p) => p.peerId === a.peerId && p.rttMs !== null));
    assert.equal(c.status().peers.healthy, 2);
    // C dialled A, so A only saw an ephemeral source port; its table must show C's listen address.
    const listenC = addrOf(c).split('/p2p/')[0];
    await waitFor("A to show C's listen address", () => a.peers().find((p) => p.peerId === c.peerId && p.addresses.includes(listenC)));
  } finally {
    await mesh.close();
  }
});

test('capacity records are published to the DHT and read back validated', { timeout: 30_000 }, async () => {
  const mesh = testMesh();
  try {
    const a = await mesh.add({}, { capacity: () => capacity(['model-a']) });
    const b = await mesh.add({ bootstrap: [addrOf(a)] }, { capacity: () => capacity(['model-b'], { chains: ['chain-b'] }) });
    const c = await mesh.add({ bootstrap: [addrOf(a)] });
    const record = await waitFor("B's record in the DHT", () => c.capacityFromDht(b.peerId), 15_000);
    assert.equal(record.peerId, b.peerId);
    assert.deepEqual(record.capacity.models, ['model-b']);
    assert.deepEqual(record.capacity.chains, ['chain-b']);
  } finally {
    await mesh.close();
  }
});

test('a capacity change reaches connected peers with a higher sequence number', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    let free = 3;
    const a = await mesh.add({}, { capacity: () => capacity(['m'], { freeConcurrency: free }) });
    const b = await mesh.add({ bootstrap: [addrOf(a)] });
    const first = await waitFor('B to see A', () => b.peers().find((p) => p.peerId === a.peerId && p.capacity));
    assert.equal(first.capacity?.freeConcurrency, 3);
    free = 0;
    await a.refreshCapacity();
    await waitFor("B to see A's new capacity", () => b.peers().find((p) => p.peerId === a.peerId && p.capacity?.freeConcurrency === 0), 5_000);
  } finally {
    await mesh.close();
  }
});

test('a peer whose record expires and who stops answering turns unhealthy', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const a = await mesh.add({}, { capacity: () => capacity(['m']) });
    const b = await mesh.add({ bootstrap: [addrOf(a)] });
    const idA = a.peerId;
    await waitFor('B to see A healthy', () => b.peers().find((p) => p.peerId === idA && p.health === 'healthy'));
    await a.stop();
    const row = await waitFor('A to turn unhealthy at B', () => b.peers().find((p) => p.peerId === idA && p.health !== 'healthy'), 8_000);
    assert.equal(row.connected, false);
  } finally {
    await mesh.close();
  }
});

test('bootstrap peers are tagged keep-alive and gossipsub carries messages between members', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const a = await mesh.add();
    const b = await mesh.add({ bootstrap: [addrOf(a)] });
    await waitFor('B to connect to A', () => b.peers().find((p) => p.peerId === a.peerId && p.connected));
    const tags = (await b.libp2p.peerStore.get(a.libp2p.peerId)).tags;
    assert.ok(
      [...tags.keys()].some((t) => t.startsWith('keep-alive')),
      'bootstrap peer carries a keep-alive tag',
    );

    const topic = 'flowrouter/test/1';
    const received: string[] = [];
    b.pubsub.subscribe(topic);
    b.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic === topic) received.push(new TextDecoder().decode(evt.detail.data));
    });
    a.pubsub.subscribe(topic);
    await waitFor('A to see B subscribed', () => a.pubsub.getSubscribers(topic).length > 0);
    await a.pubsub.publish(topic, new TextEncoder().encode('hello mesh'));
    await waitFor('B to receive the message', () => received.length > 0);
    assert.deepEqual(received, ['hello mesh']);
  } finally {
    await mesh.close();
  }
});

test('a peer whose record went stale is still found through the DHT providers of its model', { timeout: 25_000 }, async () => {
  const mesh = testMesh();
  try {
    const slow = { ...FAST_TIMING, heartbeatMs: 60_000 };
    const a = await mesh.add();
    const b = await mesh.add(
      { bootstrap: [addrOf(a)], timing: { ...slow, recordTtlMs: 1_000 } },
      { capacity: () => capacity(['dht-model']), serveForward: echoServe('b') },
    );
    const c = await mesh.add({ bootstrap: [addrOf(a)], timing: slow });
    await waitFor("B's record at C to go stale", () => c.peers().find((p) => p.peerId === b.peerId && p.capacity && p.health === 'stale'), 15_000);
    const answered = await waitFor(
      'a forward found through the DHT',
      async () => {
        try {
          return await forwardToBest(c, request('dht-model'), { requestId: 'dht', deadlineMs: Date.now() + 5_000 });
        } catch {
          return null;
        }
      },
      15_000,
    );
    assert.equal(answered.peerId, b.peerId);
    assert.equal(answered.result.kind === 'json' && answered.result.response.choices[0].message.content, 'from b');
  } finally {
    await mesh.close();
  }
});

test('an isolated node starts at once and finds no peer for a model within the DHT bound', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const started = Date.now();
    // The bootstrap peer does not exist: start must not wait for it.
    const lonely = await mesh.add({ bootstrap: ['/ip4/127.0.0.1/tcp/9/p2p/12D3KooWS4gYpdssdcRq8XX9jxWCX9B1HUvvTyPqEaC77hFWTq7Q'] });
    assert.ok(Date.now() - started < 3_000, 'start resolves once listening');
    const t = Date.now();
    assert.deepEqual(await lonely.peersFor('any-model', AbortSignal.timeout(30_000)), []);
    assert.ok(Date.now() - t < 3_000, 'the DHT lookup is bounded');
    assert.deepEqual(lonely.status().peers, { known: 0, connected: 0, healthy: 0 });
  } finally {
    await mesh.close();
  }
});

test('a node that started alone puts its record into the DHT once peers arrive', { timeout: 30_000 }, async () => {
  const mesh = testMesh();
  try {
    const timing = { ...FAST_TIMING, republishMs: 60_000, dhtTimeoutMs: 500, recordTtlMs: 60_000, heartbeatMs: 60_000 };
    const b = await mesh.add({ timing }, { capacity: () => capacity(['late-model']) });
    const idB = b.peerId;
    await new Promise((r) => setTimeout(r, 1_000)); // its first put has timed out with nobody to store it
    const a = await mesh.add({ bootstrap: [addrOf(b)], timing });
    await waitFor('A to connect to B', () => a.peers().find((p) => p.peerId === idB && p.capacity));
    await new Promise((r) => setTimeout(r, 1_000));
    // With B gone, only a copy B put on another node can answer.
    await b.stop();
    const c = await mesh.add({ bootstrap: [addrOf(a)], timing });
    const record = await waitFor("B's record in the DHT", () => c.capacityFromDht(idB), 10_000);
    assert.deepEqual(record.capacity.models, ['late-model']);
  } finally {
    await mesh.close();
  }
});
