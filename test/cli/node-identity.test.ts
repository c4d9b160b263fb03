// The node id is the mesh peer id; once derived it is remembered, so a start without the mesh never loads libp2p's crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { loadOrCreateIdentity } from '../../src/mesh/index.ts';
import { KEY_FILE, PEER_ID_FILE, nodeIdentity } from '../../src/node/identity.ts';
import { tempDir } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

/** Runs nodeIdentity in a fresh process; reports the peer id and whether any @libp2p module was loaded. */
function identityInChild(dataDir: string): { peerId: string; libp2pLoaded: boolean } {
  const script = `
    import { registerHooks } from 'node:module';
    let libp2pLoaded = false;
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (r.url.includes('/@libp2p/')) libp2pLoaded = true; return r; } });
    const { nodeIdentity } = await import(${JSON.stringify(join(ROOT, 'src/node/identity.ts'))});
    const { peerId } = await nodeIdentity(${JSON.stringify(dataDir)});
    process.stdout.write(JSON.stringify({ peerId, libp2pLoaded }));`;
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { peerId: string; libp2pLoaded: boolean };
}

test("a key the mesh created is the node's identity: both read one file in the data directory", async () => {
  const dir = tempDir();
  try {
    const meshKey = await loadOrCreateIdentity(dir.path);
    assert.equal((await nodeIdentity(dir.path)).peerId, peerIdFromPrivateKey(meshKey).toString());
  } finally {
    dir.remove();
  }
});

test('the first start derives the peer id with libp2p; later starts read it without loading libp2p', async () => {
  const dir = tempDir();
  try {
    const first = identityInChild(dir.path);
    assert.equal(first.libp2pLoaded, true);
    assert.equal(first.peerId, peerIdFromPrivateKey(await loadOrCreateIdentity(dir.path)).toString());
    const again = identityInChild(dir.path);
    assert.deepEqual(again, { peerId: first.peerId, libp2pLoaded: false });
    const identity = await nodeIdentity(dir.path);
    assert.equal(identity.peerId, first.peerId);
    assert.equal(peerIdFromPrivateKey(await identity.privateKey()).toString(), first.peerId);
  } finally {
    dir.remove();
  }
});

test('a replaced key file is never paired with the remembered id of the old one', async () => {
  const dir = tempDir();
  try {
    const old = (await nodeIdentity(dir.path)).peerId;
    const key = await generateKeyPair('Ed25519');
    rmSync(join(dir.path, KEY_FILE));
    writeFileSync(join(dir.path, KEY_FILE), privateKeyToProtobuf(key));
    const now = await nodeIdentity(dir.path);
    assert.equal(now.peerId, peerIdFromPrivateKey(key).toString());
    assert.notEqual(now.peerId, old);
    assert.equal(JSON.parse(readFileSync(join(dir.path, PEER_ID_FILE), 'utf8')).peerId, now.peerId);
    writeFileSync(join(dir.path, PEER_ID_FILE), 'not json');
    assert.equal((await nodeIdentity(dir.path)).peerId, now.peerId);
  } finally {
    dir.remove();
  }
});
