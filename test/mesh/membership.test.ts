// Who may join: the pre-shared key keeps strangers out, the allowlist excludes members, and identity survives restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { CAPACITY_PROTOCOL, FORWARD_PROTOCOL, createMeshNode, readMeshSecret, writeMeshSecret } from '../../src/mesh/index.ts';
import { addrOf, capacity, FAST_TIMING, testMesh, waitFor } from './helpers.ts';

async function secrets(): Promise<{ dir: string; one: string; other: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-psk-'));
  const one = join(dir, 'one.key');
  const other = join(dir, 'other.key');
  await writeMeshSecret(one);
  await writeMeshSecret(other);
  return { dir, one, other };
}

test('the mesh secret is written in the pnet format with mode 0600 and never overwritten', async () => {
  const { dir, one } = await secrets();
  try {
    assert.match(await readFile(one, 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    assert.equal((await stat(one)).mode & 0o777, 0o600);
    assert.equal((await readMeshSecret(one)).length, 95);
    await assert.rejects(writeMeshSecret(one), /already exists/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a node without the mesh secret can neither connect nor open a mesh protocol', { timeout: 25_000 }, async () => {
  const mesh = testMesh();
  const keys = await secrets();
  try {
    const a = await mesh.add({ secretFile: keys.one }, { capacity: () => capacity(['m']) });
    const b = await mesh.add({ secretFile: keys.one, bootstrap: [addrOf(a)] });
    const stranger = await mesh.add({ bootstrap: [addrOf(a)] });
    const wrongKey = await mesh.add({ secretFile: keys.other, bootstrap: [addrOf(a)] });
    await waitFor('the member to join', () => b.peers().find((p) => p.peerId === a.peerId && p.capacity));
    for (const outsider of [stranger, wrongKey]) {
      await assert.rejects(outsider.libp2p.dialProtocol(multiaddr(addrOf(a)), FORWARD_PROTOCOL, { signal: AbortSignal.timeout(3_000) }));
      assert.equal(outsider.libp2p.getConnections().length, 0);
      assert.deepEqual(
        outsider.peers().filter((p) => p.capacity),
        [],
      );
    }
    assert.ok(!a.peers().some((p) => p.peerId === stranger.peerId || p.peerId === wrongKey.peerId));
    assert.equal(a.status().privateNetwork, true);
  } finally {
    await mesh.close();
    await rm(keys.dir, { recursive: true, force: true });
  }
});

test('an allowlist excludes a member that holds the secret', { timeout: 25_000 }, async () => {
  const mesh = testMesh();
  const keys = await secrets();
  try {
    const b = await mesh.add({ secretFile: keys.one });
    const excluded = await mesh.add({ secretFile: keys.one });
    const a = await mesh.add({ secretFile: keys.one, allowlist: [b.peerId] }, { capacity: () => capacity(['m']) });
    await b.libp2p.dial(multiaddr(addrOf(a)), { signal: AbortSignal.timeout(3_000) });
    await waitFor('the allowed member to see A', () => b.peers().find((p) => p.peerId === a.peerId && p.capacity));
    await assert.rejects(excluded.libp2p.dialProtocol(multiaddr(addrOf(a)), CAPACITY_PROTOCOL, { signal: AbortSignal.timeout(3_000) }));
    await assert.rejects(a.libp2p.dial(multiaddr(addrOf(excluded)), { signal: AbortSignal.timeout(3_000) }));
    assert.equal(excluded.libp2p.getConnections().length, 0);
    assert.ok(!a.peers().some((p) => p.peerId === excluded.peerId));
    assert.equal(a.status().allowlist, 1);
  } finally {
    await mesh.close();
    await rm(keys.dir, { recursive: true, force: true });
  }
});

test('the peer id is stable across restarts and the identity file is private', { timeout: 20_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-id-'));
  const make = () =>
    createMeshNode(
      { dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, timing: FAST_TIMING },
      {
        capacity: () => capacity([]),
        serveForward: async () => {
          throw new Error('unused');
        },
      },
    );
  try {
    const first = make();
    await first.start();
    const id = first.peerId;
    await first.stop();
    const second = make();
    await second.start();
    assert.equal(second.peerId, id);
    await second.stop();
    assert.equal((await stat(join(dir, 'mesh-identity.key'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
