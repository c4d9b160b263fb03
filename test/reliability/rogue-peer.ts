// A rogue mesh member for fault tests: holds the secret, advertises a validly signed capacity record, then serves forwards badly.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { CAPACITY_PROTOCOL, FORWARD_PROTOCOL, encodeCapacityRecord, readMeshSecret, signCapacityRecord } from '../../src/mesh/index.ts';
import { createHost, type MeshHost } from '../../src/mesh/host.ts';

/** How the rogue answers a forward once it has read the request frame. */
export type RogueMode =
  | 'hang' // reads the request, never answers, keeps the stream open
  | 'garbage' // a length-prefixed frame that is not JSON
  | 'bad-shapes' // JSON frames of the wrong shape: a json frame without a response
  | 'bad-status' // an error frame claiming HTTP 200 (a peer must not choose the client's status)
  | 'oversized' // a length prefix far above the frame limit
  | 'raw-bytes'; // bytes without any framing at all

export interface RoguePeer {
  host: MeshHost;
  peerId: string;
  /** Forward streams the rogue has accepted. */
  forwardsSeen: number;
  /** Connects to a victim (reusing an open connection); the connection is what a flood opens its streams on. */
  dial(addr: string): Promise<Connection>;
  stop(): Promise<void>;
}

const encoder = new TextEncoder();

async function misbehave(stream: Stream, mode: RogueMode): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 });
  await lp.read({ signal: AbortSignal.timeout(5_000) });
  switch (mode) {
    case 'hang':
      return; // the stream stays open and silent until the victim gives up on it
    case 'garbage':
      await lp.write(encoder.encode('\u0000\u00ffnot json at all{{{'));
      break;
    case 'bad-shapes':
      await lp.write(encoder.encode(JSON.stringify({ type: 'json' })));
      break;
    case 'bad-status':
      await lp.write(encoder.encode(JSON.stringify({ type: 'error', error: { status: 200, message: { nested: true }, type: 'x', code: 7 } })));
      break;
    case 'oversized':
      // A varint announcing 64 MiB, then a little data: the reader must refuse before buffering it.
      stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x20, 1, 2, 3]));
      break;
    case 'raw-bytes':
      stream.send(encoder.encode('HTTP/1.1 200 OK\r\n\r\nhello'));
      break;
  }
  await stream.close().catch(() => undefined);
}

/** Starts a member host with the mesh secret that advertises `models` attractively and answers forwards per `mode`. */
export async function startRoguePeer(secretFile: string, models: string[], mode: RogueMode): Promise<RoguePeer> {
  const privateKey = await generateKeyPair('Ed25519');
  const psk = await readMeshSecret(secretFile);
  const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, psk, allowlist: null });
  const peerId = host.peerId.toString();
  const rogue: RoguePeer = {
    host,
    peerId,
    forwardsSeen: 0,
    dial: async (addr) => {
      // libp2p refuses more than 5 inbound connections a second from one host, and every test peer is 127.0.0.1.
      const until = Date.now() + 5_000;
      for (;;) {
        try {
          return await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) });
        } catch (err) {
          if (Date.now() > until) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    stop: async () => {
      await host.stop();
    },
  };
  const record = async () => {
    const now = Date.now();
    return signCapacityRecord(privateKey, {
      peerId,
      nodeName: `rogue-${mode}`,
      seq: now,
      issuedAt: now,
      expiresAt: now + 60_000,
      capacity: { models, chains: ['default'], freeConcurrency: 64, latencyP50Ms: 0, errorRate: 0, version: '0.1.0' },
    });
  };
  await host.handle(CAPACITY_PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 });
    await lp.read({ signal: AbortSignal.timeout(5_000) });
    await lp.write(encodeCapacityRecord(await record()));
    await stream.close();
  });
  await host.handle(
    FORWARD_PROTOCOL,
    async (stream) => {
      rogue.forwardsSeen++;
      await misbehave(stream, mode).catch(() => stream.abort(new Error('rogue gave up')));
    },
    { maxInboundStreams: 1024, maxOutboundStreams: 4096 },
  );
  await host.start();
  return rogue;
}
