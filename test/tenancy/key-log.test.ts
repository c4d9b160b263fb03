// The key log's merge rules, store to store: puts are last-writer-wins by HLC, a revocation is final whatever the order
// ops arrive in, malformed ops and ops signed for another log are refused, and key_issuers limits who may write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { openDatabase } from '../../src/core/database.ts';
import { KEYS_CHANNEL, signOp, verifyOp } from '../../src/mesh/index.ts';
import { KeyStore } from '../../src/tenancy/index.ts';

function store(origin: string, issuers?: string[]) {
  const db = openDatabase(':memory:');
  return { keys: new KeyStore(db, { origin, issuers: () => issuers ?? null }), close: () => db.close() };
}

/** Every op `from` holds that `to` lacks, applied in the given order. */
function ship(from: KeyStore, to: KeyStore, order: 'forward' | 'reverse' = 'forward'): void {
  const ops = from.opsSince({}, 1000);
  for (const op of order === 'forward' ? ops : ops.reverse()) to.applyRemote(op, null);
}

test('two members that rotate the same key apart converge on the later rotation, in any delivery order', () => {
  const a = store('node-a');
  const b = store('node-b');
  try {
    const { key: original, record } = a.keys.create('shared');
    ship(a.keys, b.keys);
    const { key: fromB } = b.keys.rotate(record.id, Date.now());
    const { key: fromA } = a.keys.rotate(record.id, Date.now() + 1);
    ship(a.keys, b.keys, 'reverse');
    ship(b.keys, a.keys);
    for (const s of [a.keys, b.keys]) {
      assert.equal(s.verify(original).ok, false);
      assert.deepEqual([s.verify(fromA).ok, s.verify(fromB).ok].filter(Boolean).length, 1, 'exactly one secret wins');
    }
    assert.deepEqual(a.keys.get(record.id), b.keys.get(record.id));
  } finally {
    a.close();
    b.close();
  }
});

test('a revocation is final: a later rotation elsewhere does not bring the key back, and a revocation that arrives first waits for its key', () => {
  const a = store('node-a');
  const b = store('node-b');
  const c = store('node-c');
  try {
    const { record } = a.keys.create('leaver');
    ship(a.keys, b.keys);
    b.keys.revoke(record.id);
    const { key: rotated } = a.keys.rotate(record.id, Date.now() + 60_000);
    // C hears B's revocation before the key itself exists there.
    ship(b.keys, c.keys);
    assert.equal(c.keys.get(record.id)?.revokedAt !== undefined, true);
    ship(a.keys, c.keys);
    ship(b.keys, a.keys);
    for (const s of [a.keys, c.keys]) {
      assert.deepEqual(s.verify(rotated), { ok: false, reason: 'revoked' });
      assert.equal(s.get(record.id)?.name, 'leaver');
    }
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test('malformed key ops are refused before they touch the database', () => {
  const a = store('node-a');
  try {
    const base = { origin: 'x', seq: 1, hlc: '000001700000000.00000.x', docId: '0123456789abcdef', kind: 'put' };
    const good = { name: 'n', salt: Buffer.alloc(16).toString('base64'), hash: Buffer.alloc(32).toString('base64'), createdAt: 1 };
    for (const bad of [
      { ...base, payload: { ...good, salt: 'short' } },
      { ...base, payload: { ...good, name: 'bad name with spaces' } },
      { ...base, payload: { ...good, rpm: -1 } },
      { ...base, payload: { ...good, secret: 'fr-…' } },
      { ...base, docId: '../etc', payload: good },
      { ...base, kind: 'drop', payload: good },
    ])
      assert.throws(() => a.keys.applyRemote(bad), /Malformed key (op|put payload)/);
    assert.equal(a.keys.versionVector().x, undefined);
  } finally {
    a.close();
  }
});

test('a key op is signed for the key log: the same signature does not verify as a knowledge op, nor the reverse', async () => {
  const privateKey = await generateKeyPair('Ed25519');
  const origin = peerIdFromPrivateKey(privateKey).toString();
  const a = store(origin);
  try {
    a.keys.create('signed');
    const [op] = a.keys.opsSince({}, 10);
    const proof = await signOp(privateKey, op, KEYS_CHANNEL.proofDomain);
    assert.equal(await verifyOp(op, proof, KEYS_CHANNEL.proofDomain), true);
    assert.equal(await verifyOp(op, proof), false);
    assert.equal(await verifyOp(op, await signOp(privateKey, op), KEYS_CHANNEL.proofDomain), false);
  } finally {
    a.close();
  }
});

test('with key_issuers set, a member outside it may not write keys, and its ops are kept but not applied', () => {
  const issuer = store('node-a', ['node-a']);
  const other = store('node-b', ['node-a']);
  const rogue = store('node-b');
  try {
    assert.throws(() => other.keys.create('nope'), /may not issue or change client keys/);
    const { key, record } = rogue.keys.create('minted');
    ship(rogue.keys, issuer.keys);
    assert.equal(issuer.keys.get(record.id), undefined);
    assert.equal(issuer.keys.verify(key).ok, false);
    assert.equal(issuer.keys.versionVector()['node-b'], 1, 'the op fills its place in the log');
  } finally {
    issuer.close();
    other.close();
    rogue.close();
  }
});

test("keys written before keys replicated become this node's ops when the store is attached", () => {
  const db = openDatabase(':memory:');
  try {
    const before = new KeyStore(db, { origin: 'old' });
    const { key, record } = before.create('legacy');
    before.revoke('legacy');
    // As an older version left it: no HLC, no op.
    db.exec('DELETE FROM tenancy_ops; DELETE FROM tenancy_version; UPDATE tenancy_keys SET hlc = NULL, origin = NULL');
    const after = new KeyStore(db, { origin: 'node-a' });
    assert.deepEqual(
      after.opsSince({}, 10).map((o) => o.kind),
      ['put', 'revoke'],
    );
    const peer = store('node-b');
    try {
      ship(after, peer.keys);
      assert.equal(peer.keys.get(record.id)?.name, 'legacy');
      assert.deepEqual(peer.keys.verify(key), { ok: false, reason: 'revoked' });
    } finally {
      peer.close();
    }
  } finally {
    db.close();
  }
});
