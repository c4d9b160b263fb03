// Forged key operations are refused on the key log's own topic: a member can neither write a key under another origin,
// nor alter one, nor replay an operation signed for the knowledge base as a key operation. Real libp2p nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { createReplicator, KEYS_CHANNEL, KEYS_TOPIC, loadOrCreateIdentity, signOp } from '../../src/mesh/index.ts';
import type { LogOp } from '../../src/oplog/index.ts';
import { KeyStore } from '../../src/tenancy/index.ts';
import { addrOf, testMesh, waitFor } from '../mesh/helpers.ts';

const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

test('gossiped key ops with a borrowed origin, altered content or a knowledge-base signature are rejected; genuine ones apply', {
  timeout: 40_000,
}, async () => {
  const mesh = testMesh();
  const dbs: ReturnType<typeof openDatabase>[] = [];
  const replicators: ReturnType<typeof createReplicator>[] = [];
  try {
    const add = async (bootstrap: string[]) => {
      const node = await mesh.add({ bootstrap });
      const dir = mesh.dirs.at(-1)!;
      const db = openDatabase(join(dir, 'flowrouter.db'));
      dbs.push(db);
      const keys = new KeyStore(db, { origin: node.peerId });
      const replicator = createReplicator({
        mesh: node,
        privateKey: await loadOrCreateIdentity(dir),
        store: keys,
        channel: KEYS_CHANNEL,
        options: { syncIntervalMs: 1_000 },
      });
      await replicator.start();
      replicators.push(replicator);
      return { node, keys, dir, replicator };
    };
    const a = await add([]);
    const m = await add([addrOf(a.node)]);
    await waitFor('topic peers', () => a.node.pubsub.getSubscribers(KEYS_TOPIC).length >= 1 && m.node.pubsub.getSubscribers(KEYS_TOPIC).length >= 1);
    const mKey = await loadOrCreateIdentity(m.dir);

    // M makes a key of its own to learn the op shape, then forges with it.
    const { key: secret, record } = m.keys.create('template');
    const [own] = m.keys.opsSince({}, 1);
    await waitFor('the genuine key on A', () => a.keys.get(record.id) !== undefined);
    const borrowed: LogOp = { ...own, origin: a.node.peerId, seq: 99, docId: 'aaaaaaaaaaaaaaaa' };
    await m.node.pubsub.publish(KEYS_TOPIC, encode({ t: 'op', op: borrowed, proof: await signOp(mKey, borrowed, KEYS_CHANNEL.proofDomain) }));
    const altered: LogOp = { ...own, seq: 2, docId: 'bbbbbbbbbbbbbbbb', payload: { ...(own.payload as object), rpm: 1 } };
    await m.node.pubsub.publish(
      KEYS_TOPIC,
      encode({ t: 'op', op: altered, proof: await signOp(mKey, { ...altered, payload: own.payload }, KEYS_CHANNEL.proofDomain) }),
    );
    const kbSigned: LogOp = { ...own, seq: 2, docId: 'cccccccccccccccc' };
    await m.node.pubsub.publish(KEYS_TOPIC, encode({ t: 'op', op: kbSigned, proof: await signOp(mKey, kbSigned) }));

    await waitFor('three rejections on A', () => a.replicator.status().counts.opsRejected >= 3);
    for (const id of ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']) assert.equal(a.keys.get(id), undefined);
    assert.equal(a.keys.versionVector()[a.node.peerId] ?? 0, 0);
    assert.equal(a.keys.verify(secret).ok, true, 'the genuine key works on A');
    // The same path still carries a genuine revocation.
    m.keys.revoke(record.id);
    await waitFor('the revocation on A', () => a.keys.get(record.id)?.revokedAt !== undefined);
  } finally {
    await Promise.all(replicators.map((r) => r.stop()));
    await mesh.close();
    for (const db of dbs) db.close();
  }
});
