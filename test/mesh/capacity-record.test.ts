// Capacity records: the DHT validator and selector, and the direct protocol, refuse forged, expired, misplaced and far-future records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { CAPACITY_PROTOCOL, capacityKey, encodeCapacityRecord, selectCapacityEntry, signCapacityRecord, validateCapacityEntry } from '../../src/mesh/index.ts';
import type { CapacityRecord } from '../../src/mesh/index.ts';
import { frameStream } from '../../src/mesh/frames.ts';
import { addrOf, capacity, testMesh, waitFor } from './helpers.ts';

async function signed(key: PrivateKey, over: Partial<Omit<CapacityRecord, 'signature'>> = {}): Promise<CapacityRecord> {
  const now = Date.now();
  return signCapacityRecord(key, {
    peerId: peerIdFromPrivateKey(key).toString(),
    nodeName: 'n',
    seq: 1,
    issuedAt: now,
    expiresAt: now + 30_000,
    capacity: capacity(['m']),
    ...over,
  });
}

const bytes = (r: CapacityRecord): Uint8Array => encodeCapacityRecord(r);

test('a well-signed live record under its own peer id is accepted', async () => {
  const key = await generateKeyPair('Ed25519');
  const r = await signed(key);
  await validateCapacityEntry(capacityKey(r.peerId), bytes(r));
});

test('a record whose capacity was altered after signing is rejected', async () => {
  const key = await generateKeyPair('Ed25519');
  const r = await signed(key);
  const forged = { ...r, capacity: { ...r.capacity, freeConcurrency: 1_000 } };
  await assert.rejects(validateCapacityEntry(capacityKey(r.peerId), bytes(forged)), /signature is invalid/);
});

test('a record signed by another key than its peer id is rejected', async () => {
  const owner = await generateKeyPair('Ed25519');
  const thief = await generateKeyPair('Ed25519');
  const r = await signed(thief, { peerId: peerIdFromPrivateKey(owner).toString() });
  await assert.rejects(validateCapacityEntry(capacityKey(r.peerId), bytes(r)), /signature is invalid/);
});

test("a record stored under another peer's key is rejected", async () => {
  const key = await generateKeyPair('Ed25519');
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
  const r = await signed(key);
  await assert.rejects(validateCapacityEntry(capacityKey(other), bytes(r)), /another peer id/);
});

test('an expired record and a far-future record are rejected', async () => {
  const key = await generateKeyPair('Ed25519');
  const now = Date.now();
  const expired = await signed(key, { issuedAt: now - 60_000, expiresAt: now - 1 });
  await assert.rejects(validateCapacityEntry(capacityKey(expired.peerId), bytes(expired)), /expired/);
  const future = await signed(key, { issuedAt: now + 3_600_000, expiresAt: now + 3_700_000 });
  await assert.rejects(validateCapacityEntry(capacityKey(future.peerId), bytes(future)), /future/);
  const endless = await signed(key, { expiresAt: now + 30 * 24 * 3_600_000 });
  await assert.rejects(validateCapacityEntry(capacityKey(endless.peerId), bytes(endless)), /lifetime/);
});

test('garbage and unknown keys in the namespace are rejected', async () => {
  const key = await generateKeyPair('Ed25519');
  const r = await signed(key);
  await assert.rejects(validateCapacityEntry(capacityKey(r.peerId), new TextEncoder().encode('not json')), /not JSON/);
  await assert.rejects(validateCapacityEntry(new TextEncoder().encode('/flowrouter/other/x'), bytes(r)), /unknown flowrouter DHT key/);
});

test('the selector picks the highest sequence number, then the newest', async () => {
  const key = await generateKeyPair('Ed25519');
  const now = Date.now();
  const old = await signed(key, { seq: 5, issuedAt: now - 1_000 });
  const newest = await signed(key, { seq: 9, issuedAt: now - 2_000 });
  const tie = await signed(key, { seq: 9, issuedAt: now });
  const k = capacityKey(old.peerId);
  assert.equal(selectCapacityEntry(k, [bytes(old), bytes(newest)]), 1);
  assert.equal(selectCapacityEntry(k, [bytes(newest), bytes(old)]), 0);
  assert.equal(selectCapacityEntry(k, [bytes(old), bytes(newest), bytes(tie)]), 2);
});

test('over the direct protocol a peer can only speak for itself, with a valid signature', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const b = await mesh.add();
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await waitFor('A and B to exchange records', () => b.peers().find((p) => p.peerId === a.peerId && p.capacity));
    const send = async (record: CapacityRecord): Promise<void> => {
      const stream = await a.libp2p.dialProtocol(b.libp2p.peerId, CAPACITY_PROTOCOL, { signal: AbortSignal.timeout(3_000) });
      await frameStream(stream).write(bytes(record));
      // B refuses by resetting the stream instead of answering with its own record.
      await assert.rejects(frameStream(stream).read({ signal: AbortSignal.timeout(3_000) }));
    };
    const other = await generateKeyPair('Ed25519');
    await send(await signed(other)); // validly signed, but by someone else than the connected peer
    const forged = { ...(await signed(await generateKeyPair('Ed25519'), { peerId: a.peerId })), seq: Number.MAX_SAFE_INTEGER };
    await send(forged); // claims A's id, signed with another key
    assert.ok(!b.peers().some((p) => p.peerId === peerIdFromPrivateKey(other).toString()));
    // A really serves no model; the forged record (serving 'm') must not have replaced its own.
    assert.deepEqual(b.peers().find((p) => p.peerId === a.peerId)?.capacity?.models, []);
  } finally {
    await mesh.close();
  }
});
