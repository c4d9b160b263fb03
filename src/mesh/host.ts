// Builds the libp2p host: TCP + Noise + Yamux, a LAN-mode Kad-DHT, gossipsub, discovery, and the membership guards.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { kadDHT, removePublicAddressesMapper } from '@libp2p/kad-dht';
import { mdns } from '@libp2p/mdns';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { isLinkLocalIp } from '@libp2p/utils';
import type { ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { DHT_NAMESPACE, selectCapacityEntry, validateCapacityEntry } from './capacity-record.ts';
import { decodeMeshSecret } from './identity.ts';
import { privateNetwork } from './private-network/protector.ts';

export const KAD_PROTOCOL = '/flowrouter/kad/1.0.0';
/** Tags starting with `keep-alive` make the connection manager redial a peer that dropped. */
export const BOOTSTRAP_TAG = 'keep-alive-flowrouter-bootstrap';

export interface HostInit {
  privateKey: PrivateKey;
  listen: string[];
  bootstrap: string[];
  mdns: boolean;
  psk: Uint8Array | null;
  /** Told when a peer's connection shows it holds another mesh secret. */
  onForeignPeer?: (remoteAddr: string, direction: 'inbound' | 'outbound') => void;
  allowlist: ReadonlySet<string> | null;
}

/** Link-local addresses and docker0's default bridge (172.17.0.0/16) are unreachable from other hosts: never announced. */
export function announceable(ma: Multiaddr): boolean {
  for (const c of ma.getComponents()) {
    if ((c.name === 'ip4' || c.name === 'ip6') && c.value !== undefined) {
      if (isLinkLocalIp(c.value) || c.value.startsWith('172.17.')) return false;
    }
  }
  return true;
}

/** Refuses every peer outside the allowlist once its identity is proven by Noise, in both directions. */
function allowlistGater(allow: ReadonlySet<string>): ConnectionGater {
  const denied = (peer: PeerId): boolean => !allow.has(peer.toString());
  return {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied,
    denyInboundUpgradedConnection: denied,
    denyOutboundUpgradedConnection: denied,
  };
}

export async function createHost(init: HostInit) {
  // Not started here: the mesh registers its protocol handlers before the first peer can connect.
  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen, announceFilter: (addrs) => addrs.filter(announceable) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: init.psk ? privateNetwork({ key: decodeMeshSecret(init.psk), onForeignPeer: init.onForeignPeer }) : undefined,
    connectionGater: init.allowlist ? allowlistGater(init.allowlist) : undefined,
    // A Pi applying a large replicated document is busy for seconds; a slow ping must not cut its connections.
    connectionMonitor: { pingTimeout: { minTimeout: 10_000 } },
    peerDiscovery: [
      ...(init.bootstrap.length > 0 ? [bootstrap({ list: init.bootstrap, timeout: 10, tagName: BOOTSTRAP_TAG })] : []),
      ...(init.mdns ? [mdns()] : []),
    ],
    services: {
      identify: identify(),
      // The connection monitor and the DHT's routing table both ping: with one stream each way allowed, a ping
      // overlapping another failed and the monitor closed the connection ("Too many outbound protocol streams").
      ping: ping({ maxInboundStreams: 4, maxOutboundStreams: 4 }),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: false,
        peerInfoMapper: removePublicAddressesMapper,
        validators: { [DHT_NAMESPACE]: validateCapacityEntry },
        selectors: { [DHT_NAMESPACE]: selectCapacityEntry },
      }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
    },
  });
}

export type MeshHost = Awaited<ReturnType<typeof createHost>>;
