// Bootstrap mistakes are explained at warn (unreachable, wrong peer id, another secret) and a bootstrap node that comes
// back is rejoined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { captureLogger, type CapturedLog } from '../capture-logger.ts';
import { addrOf, testMesh, waitFor } from './helpers.ts';

/** The first line with this message at warn, once there is one; it comes from the named component. */
function warned(log: CapturedLog, msg: string, component: string) {
  return waitFor(`the warning ${msg}`, () => {
    const line = log.find(msg, 'warn')[0];
    if (line) assert.equal(line.bindings.component, component);
    return line;
  });
}

async function keys() {
  const dir = await mkdtemp(join(tmpdir(), 'flowrouter-diag-'));
  await writeMeshSecret(join(dir, 'one.key'));
  await writeMeshSecret(join(dir, 'other.key'));
  return { dir, one: join(dir, 'one.key'), other: join(dir, 'other.key') };
}

const connected = (a: MeshNode, b: MeshNode) => a.libp2p.getConnections().some((c) => c.remotePeer.toString() === b.peerId);

test('a bootstrap node that is down is reported at warn, and joined once it is back on its address', { timeout: 40_000 }, async () => {
  const mesh = testMesh();
  const k = await keys();
  try {
    const first = await mesh.add({ secretFile: k.one });
    const address = addrOf(first);
    const port = address.split('/')[4];
    const firstId = first.peerId;
    await first.stop();
    const log = captureLogger();
    const joiner = await mesh.add({ secretFile: k.one, bootstrap: [address] }, { logger: log.logger });
    const said = await warned(log, 'mesh:bootstrap-dial-failed', 'bootstrap');
    assert.equal(said.detail.problem, 'unreachable');
    assert.match(String(said.detail.check), /does not answer .*check that its node runs, that it listens on that mesh port/);
    // The same node, same identity and port, back: the joiner dials it again by itself.
    const back = await mesh.add({ secretFile: k.one, dataDir: mesh.dirs[0], listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    assert.equal(back.peerId, firstId);
    await waitFor('the joiner to reach the bootstrap node again', () => connected(joiner, back), 15_000);
    // One warning for the outage, not one per attempt, and the return at info.
    assert.equal(log.find('mesh:bootstrap-dial-failed', 'warn').length, 1);
    await waitFor('the bootstrap node reached again', () => log.find('mesh:bootstrap-reached', 'info')[0]);
  } finally {
    await mesh.close();
    await rm(k.dir, { recursive: true, force: true });
  }
});

test('a bootstrap address naming another peer id is reported as a stale identity', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  const k = await keys();
  try {
    const target = await mesh.add({ secretFile: k.one });
    const someoneElse = await mesh.add({ secretFile: k.one });
    const log = captureLogger();
    await mesh.add({ secretFile: k.one, bootstrap: [addrOf(target).replace(target.peerId, someoneElse.peerId)] }, { logger: log.logger });
    const said = await warned(log, 'mesh:bootstrap-dial-failed', 'bootstrap');
    assert.equal(said.detail.problem, 'identity-mismatch');
    assert.match(String(said.detail.check), new RegExp(`is ${target.peerId}, not the peer id the address names: the address is stale`));
  } finally {
    await mesh.close();
    await rm(k.dir, { recursive: true, force: true });
  }
});

test('a node holding another mesh secret is told to check mesh.key, and the node it knocked at reports it', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  const k = await keys();
  try {
    const member = captureLogger();
    const stranger = captureLogger();
    const a = await mesh.add({ secretFile: k.one }, { logger: member.logger });
    const b = await mesh.add({ secretFile: k.other, bootstrap: [addrOf(a)] }, { logger: stranger.logger });
    const dialler = await warned(stranger, 'mesh:bootstrap-dial-failed', 'bootstrap');
    assert.equal(dialler.detail.problem, 'foreign-network');
    assert.match(String(dialler.detail.check), /as a node with another mesh secret does: check that mesh\.key on both nodes is the same file/);
    const listener = await warned(member, 'mesh:foreign-peer', 'mesh');
    assert.equal(listener.detail.direction, 'inbound');
    assert.match(String(listener.detail.check), /with another mesh secret/);
    assert.equal(connected(b, a), false);
  } finally {
    await mesh.close();
    await rm(k.dir, { recursive: true, force: true });
  }
});
