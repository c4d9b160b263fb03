// The mesh's own pre-shared-key protector: @libp2p/pnet's wire format, large messages in bounded chunks, keys given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { ConnectionProtector, MultiaddrConnection } from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { createLibp2p } from 'libp2p';
import { xsalsa20 } from '@noble/ciphers/salsa.js';
import { decodeMeshSecret, generateMeshSecret } from '../../src/mesh/identity.ts';
import { Keystream, liveKeystreams } from '../../src/mesh/private-network/keystream.ts';
import { MeshForeignNetwork } from '../../src/core/errors.ts';
import { privateNetwork } from '../../src/mesh/private-network/protector.ts';

const PROTOCOL = '/flowrouter-test/bytes/1.0.0';
/** What libp2p sends first on every connection: the protector checks it to tell a foreign key. */
const MULTISTREAM = new TextEncoder().encode('\x13/multistream/1.0.0\n');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

type Protector = () => ConnectionProtector;

/** A libp2p node on loopback with the given protector and a handler that answers each stream with its bytes' hash. */
async function node(protector: Protector) {
  const host = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: protector,
  });
  await host.handle(PROTOCOL, async (stream) => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of stream) {
      const part = chunk instanceof Uint8Array ? chunk : chunk.subarray();
      hash.update(part);
      bytes += part.byteLength;
    }
    stream.send(new TextEncoder().encode(`${bytes}:${hash.digest('hex')}`));
    await stream.close();
  });
  return host;
}

/** Sends `payload` from `from` to `to` as one message on one stream and returns what the receiver says it got. */
async function sendThrough(from: Awaited<ReturnType<typeof node>>, to: Awaited<ReturnType<typeof node>>, payload: Uint8Array): Promise<string> {
  const stream = await from.dialProtocol(to.getMultiaddrs()[0], PROTOCOL, { signal: AbortSignal.timeout(10_000) });
  // One message: the muxer hands the connection all of it at once, as a large sync frame does.
  if (!stream.send(payload)) await stream.onDrain({ signal: AbortSignal.timeout(20_000) });
  await stream.close({ signal: AbortSignal.timeout(20_000) });
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
  return Buffer.concat(parts).toString('utf8');
}

test('the keystream is one continuous XSalsa20 stream, whatever the message boundaries', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const data = randomBytes(300_000);
  const reference = xsalsa20(key, nonce, data);
  const ours = new Keystream(key, nonce);
  const out: Uint8Array[] = [];
  // Boundaries inside blocks, on blocks, a zero-length message and one bigger than a chunk.
  for (const [from, to] of [
    [0, 1],
    [1, 63],
    [63, 64],
    [64, 64],
    [64, 200],
    [200, 70_000],
    [70_000, 300_000],
  ])
    out.push(ours.xor(data.subarray(from, to)));
  ours.wipe();
  assert.equal(Buffer.compare(Buffer.concat(out), Buffer.from(reference)), 0);
});

test('16 MiB messages on five streams at once pass intact through one protected connection', { timeout: 60_000 }, async () => {
  const psk = generateMeshSecret();
  const protector = privateNetwork({ key: decodeMeshSecret(psk) });
  const [a, b] = [await node(protector), await node(protector)];
  try {
    // 80 MiB queued on one connection at once: more than @libp2p/pnet 3.0.27's shared WebAssembly memory can take.
    const payloads = Array.from({ length: 5 }, () => randomBytes(16 * 1024 * 1024));
    const answers = await Promise.all(payloads.map((p) => sendThrough(a, b, p)));
    assert.deepEqual(
      answers,
      payloads.map((p) => `${p.byteLength}:${sha(p)}`),
    );
    assert.equal(a.getConnections().length, 1);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("after a large message on one connection, the node's other protected connections keep working", { timeout: 60_000 }, async () => {
  const psk = generateMeshSecret();
  const protector = privateNetwork({ key: decodeMeshSecret(psk) });
  const [a, b, c] = [await node(protector), await node(protector), await node(protector)];
  try {
    const small = randomBytes(64 * 1024);
    assert.equal(await sendThrough(a, c, small), `${small.byteLength}:${sha(small)}`);
    // Repeated, so the muxer's window grows and whole megabytes reach the protector in one call.
    const big = randomBytes(16 * 1024 * 1024);
    for (let i = 0; i < 4; i++) assert.equal(await sendThrough(a, b, big), `${big.byteLength}:${sha(big)}`);
    // @libp2p/pnet 3.0.27 failed here: once its shared wasm memory had grown, every other cipher grew it again.
    for (let i = 0; i < 100; i++) assert.equal(await sendThrough(a, c, small), `${small.byteLength}:${sha(small)}`);
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('a node with this protector and a node with @libp2p/pnet connect and exchange data both ways', { timeout: 30_000 }, async () => {
  const psk = generateMeshSecret();
  const ours = await node(privateNetwork({ key: decodeMeshSecret(psk) }));
  const theirs = await node(preSharedKey({ psk }));
  try {
    const one = randomBytes(512 * 1024);
    const two = randomBytes(512 * 1024);
    assert.equal(await sendThrough(ours, theirs, one), `${one.byteLength}:${sha(one)}`);
    assert.equal(await sendThrough(theirs, ours, two), `${two.byteLength}:${sha(two)}`);
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

test('a peer holding another secret is reported and cut off before any protocol runs', { timeout: 20_000 }, async () => {
  const foreign: string[] = [];
  const a = await node(privateNetwork({ key: decodeMeshSecret(generateMeshSecret()), onForeignPeer: (_addr, dir) => foreign.push(dir) }));
  const b = await node(privateNetwork({ key: decodeMeshSecret(generateMeshSecret()), onForeignPeer: (_addr, dir) => foreign.push(dir) }));
  try {
    await assert.rejects(a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL, { signal: AbortSignal.timeout(5_000) }));
    assert.deepEqual(a.getConnections(), []);
    assert.ok(foreign.includes('outbound') || foreign.includes('inbound'), `reported: ${foreign.join(',')}`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

/** Protects both ends of an in-memory connection pair, as the upgrader does on each side. */
async function protectedPair(protector: Protector): Promise<[MultiaddrConnection, MultiaddrConnection]> {
  const [out, inn] = multiaddrConnectionPair();
  const [x, y] = await Promise.all([protector().protect(out), protector().protect(inn)]);
  return [x as MultiaddrConnection, y as MultiaddrConnection];
}

test('opening and closing 1,000 protected connections gives every key back', { timeout: 60_000 }, async () => {
  const protector = privateNetwork({ key: decodeMeshSecret(generateMeshSecret()) });
  const before = liveKeystreams();
  for (let i = 0; i < 1_000; i++) {
    const [x, y] = await protectedPair(protector);
    assert.equal(liveKeystreams(), before + 4);
    const received = new Promise<Uint8Array>((resolve) =>
      y.addEventListener('message', (evt) => resolve(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()), { once: true }),
    );
    x.send(MULTISTREAM);
    assert.deepEqual(await received, MULTISTREAM);
    // Half close politely, half are reset: both must wipe.
    if (i % 2 === 0) await Promise.all([x.close(), y.close()]);
    else x.abort(new Error('reset'));
    await new Promise((r) => setImmediate(r));
    if (i % 2 === 1) y.abort(new Error('reset'));
  }
  assert.equal(liveKeystreams(), before);
});

test('the first bytes from a peer with another key raise a foreign-network error on the receiving side', async () => {
  const [out, inn] = multiaddrConnectionPair();
  const reported: string[] = [];
  const [x, y] = await Promise.all([
    privateNetwork({ key: decodeMeshSecret(generateMeshSecret()) })().protect(out),
    privateNetwork({ key: decodeMeshSecret(generateMeshSecret()), onForeignPeer: (_addr, dir) => reported.push(dir) })().protect(inn),
  ]);
  const closed = new Promise<Error | undefined>((resolve) => y.addEventListener('close', (evt) => resolve(evt.error), { once: true }));
  x.send(MULTISTREAM);
  assert.ok((await closed) instanceof MeshForeignNetwork);
  assert.deepEqual(reported, ['inbound']);
  x.abort(new Error('done'));
});
