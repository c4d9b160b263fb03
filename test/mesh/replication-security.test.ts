// Forged replication traffic is refused: ops with a wrong or borrowed signature never reach the store, by gossip or by sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KnowledgeOp } from '../../src/knowledge/index.ts';
import { KB_SYNC_PROTOCOL, KB_TOPIC, loadOrCreateIdentity, signOp } from '../../src/mesh/index.ts';
import { syncStream } from '../../src/mesh/replication/wire.ts';
import { captureLogger } from '../capture-logger.ts';
import { addrOf, waitFor } from './helpers.ts';
import { replicaSet } from './replication-fixture.ts';

const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

function putOp(origin: string, seq: number, docId: string, text: string): KnowledgeOp {
  return {
    origin,
    seq,
    hlc: `${String(Date.now()).padStart(15, '0')}.00000.${origin}`,
    docId,
    kind: 'put',
    payload: {
      collection: 'default',
      source: '',
      title: docId,
      tags: [],
      meta: {},
      text,
      hash: 'x',
      updatedAt: Date.now(),
      chunks: [{ heading: '', start: 0, end: text.length }],
    },
  };
}

test("gossiped ops with a bad signature, another origin's name or a malformed body are rejected and not applied", { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add();
    const b = await set.add({ bootstrap: [addrOf(a.mesh)] });
    const m = await set.add({ bootstrap: [addrOf(a.mesh), addrOf(b.mesh)] });
    await waitFor('topic peers', () => m.mesh.pubsub.getSubscribers(KB_TOPIC).length >= 2 && b.mesh.pubsub.getSubscribers(KB_TOPIC).length >= 2);
    const mKey = await loadOrCreateIdentity(m.dir);

    // M claims A wrote a document, signing with its own key.
    const borrowed = putOp(a.mesh.peerId, 1, 'forged-by-m', 'not written by A');
    await m.mesh.pubsub.publish(KB_TOPIC, encode({ t: 'op', op: borrowed, proof: await signOp(mKey, borrowed) }));
    // M's own op, but the proof is for different content.
    const own = putOp(m.mesh.peerId, 1, 'tampered', 'the text M published');
    const proof = await signOp(mKey, { ...own, payload: { ...(own.payload as object), text: 'the text M signed' } as KnowledgeOp['payload'] });
    await m.mesh.pubsub.publish(KB_TOPIC, encode({ t: 'op', op: own, proof }));
    await m.mesh.pubsub.publish(KB_TOPIC, new TextEncoder().encode('{"t":"op","op":'));

    await waitFor('three rejections on B', () => b.replicator.status().counts.opsRejected >= 3);
    await waitFor('three rejections on A', () => a.replicator.status().counts.opsRejected >= 3);
    for (const r of [a, b]) {
      assert.equal(r.store.get('forged-by-m'), null);
      assert.equal(r.store.get('tampered'), null);
      assert.equal(r.store.versionVector()[m.mesh.peerId], undefined);
      assert.equal(r.store.stats().ops, 0);
    }

    // The same path still carries a genuine op, so the refusals above were the signatures' doing.
    m.store.put({ id: 'genuine', text: 'signed by its origin' });
    await waitFor('the genuine op on B', () => b.store.get('genuine') !== null);
  } finally {
    await set.close();
  }
});

test('a sync responder serving forged or content-stripped ops gets them refused, while its genuine ops are applied', { timeout: 40_000 }, async () => {
  const set = replicaSet();
  try {
    const a = await set.add();
    a.store.put({ id: 'real', text: 'genuine text from A' });
    const genuine = await waitFor('A to sign its op', () => a.store.provenOpsSince({}).find((p) => p.proof !== null));

    // A peer speaking the sync protocol with doctored content: it holds no replicator, only a hostile handler.
    const evil = await set.mesh.add({ bootstrap: [addrOf(a.mesh)] });
    const evilKey = await loadOrCreateIdentity(set.mesh.dirs[set.mesh.dirs.length - 1]);
    const tampered = { op: { ...genuine.op, payload: { ...(genuine.op.payload as object), text: 'rewritten by a relay' } }, proof: genuine.proof };
    // Correctly signed but with the content withheld, as if compaction had dropped it: it must not fill A's slot.
    const stripped = { op: { ...genuine.op, payload: null }, proof: genuine.proof };
    const borrowed = putOp(a.mesh.peerId, 2, 'claimed-by-evil', 'A never wrote this');
    const honest = putOp(evil.peerId, 1, 'evil-own', 'a genuine op from the evil node');
    await evil.libp2p.handle(KB_SYNC_PROTOCOL, async (stream) => {
      const lp = syncStream(stream);
      await lp.read({ signal: AbortSignal.timeout(5_000) });
      await lp.write(
        encode({
          t: 'ops',
          ops: [tampered, stripped, { op: borrowed, proof: await signOp(evilKey, borrowed) }, { op: honest, proof: await signOp(evilKey, honest) }],
        }),
      );
      await lp.read({ signal: AbortSignal.timeout(5_000) });
      await lp.write(encode({ t: 'end', vv: { [a.mesh.peerId]: 2, [evil.peerId]: 1 } }));
      await stream.close();
    });

    // The allowlist keeps B from finding A through the evil node's routing table and fetching the genuine op from it.
    const log = captureLogger();
    const b = await set.add({ bootstrap: [addrOf(evil)], allowlist: [evil.peerId] }, {}, log.logger);
    await waitFor('B connected to the evil node', () => b.mesh.libp2p.getConnections().some((c) => c.remotePeer.equals(evil.libp2p.peerId)));
    await b.replicator.syncWith(evil.peerId);
    // At least: the sync run on connect may have fetched the same two forgeries once more.
    assert.ok(b.replicator.status().counts.opsRejected >= 2);
    assert.equal(b.store.get('real'), null);
    assert.equal(b.store.get('claimed-by-evil'), null);
    assert.equal(b.store.get('evil-own')?.text, 'a genuine op from the evil node');
    assert.equal(b.store.versionVector()[a.mesh.peerId], undefined);
    assert.equal(b.store.stats().ops, 1);
    // The forgeries are an operator's business (warn, per batch); the withheld content is routine until superseded.
    const rejected = log.find('replication:rejected').filter((l) => l.detail.peer === evil.peerId);
    assert.ok(rejected.length >= 1);
    for (const l of rejected) assert.deepEqual([l.level, l.detail.ops], ['warn', 2]);
    assert.equal(log.find('replication:held-back')[0]?.level, 'debug');
  } finally {
    await set.close();
  }
});
