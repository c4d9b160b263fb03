// What the replicator tells the log about a peer it cannot sync with: info while failures may be passing, warn once a
// peer that stays connected has failed three times in a row, and info again for a peer that has left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureLogger } from '../capture-logger.ts';
import { addrOf, waitFor } from './helpers.ts';
import { replicaSet } from './replication-fixture.ts';

test('a connected peer whose syncs keep failing is told at warn from the third failure; one that left, at info', { timeout: 30_000 }, async () => {
  const set = replicaSet();
  const log = captureLogger();
  try {
    const a = await set.add({}, { syncIntervalMs: 600_000, retryBaseMs: 50, retryMaxMs: 200 }, log.logger);
    // B runs the mesh but no replicator: every sync A starts with it fails at protocol selection, B staying connected.
    const b = await set.mesh.add({ bootstrap: [addrOf(a.mesh)] });
    const bId = b.peerId;
    const failed = () => log.find('replication:sync-failed').filter((l) => l.detail.peer === bId);
    await waitFor('a fourth failure in a row', () => failed().some((l) => l.detail.failures === 4));
    const whileConnected = failed();
    assert.deepEqual(
      whileConnected.slice(0, 4).map((l) => [l.detail.failures, l.level]),
      [
        [1, 'info'],
        [2, 'info'],
        [3, 'warn'],
        [4, 'warn'],
      ],
    );
    assert.equal(whileConnected[0].bindings.log, 'kb');

    await b.stop();
    await waitFor('B gone from A', () => !a.mesh.libp2p.getPeers().some((p) => p.toString() === bId));
    const seen = failed().length;
    const after = await waitFor('a failure after B left', () => failed().slice(seen)[0]);
    assert.ok((after.detail.failures as number) > 4);
    assert.equal(after.level, 'info');
  } finally {
    await set.close();
  }
});

// A timer may fire a millisecond before `Date.now()` reaches the time it was set for. A retry refused then as "still
// backing off" scheduled no other, and the peer waited for the next full sync round. A clock at half speed makes every
// retry timer fire early by its clock.
test('a backoff ends when its retry timer fires, even when the clock says the timer is early', { timeout: 30_000 }, async () => {
  const set = replicaSet();
  const log = captureLogger();
  const start = Date.now();
  const slowClock = () => start + (Date.now() - start) / 2;
  try {
    const a = await set.add({}, { syncIntervalMs: 600_000, retryBaseMs: 50, retryMaxMs: 100 }, log.logger, slowClock);
    const b = await set.mesh.add({ bootstrap: [addrOf(a.mesh)] });
    const failures = () => log.find('replication:sync-failed').filter((l) => l.detail.peer === b.peerId).length;
    await waitFor('a fourth failure in a row', () => failures() >= 4, 5_000);
  } finally {
    await set.close();
  }
});
