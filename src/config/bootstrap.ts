// Checks a mesh bootstrap entry when the config loads: a TCP multiaddr ending in the bootstrap node's peer id.
// Hand-checked with multiformats' base58 and multihash decoders, not @multiformats/multiaddr: every command loads the
// config, and the multiaddr parser alone costs ~35 ms of start-up.
import { isIPv4, isIPv6 } from 'node:net';
import { base58btc } from 'multiformats/bases/base58';
import { decode as decodeMultihash } from 'multiformats/hashes/digest';

export const BOOTSTRAP_SHAPE =
  '/ip4/<address>/tcp/<mesh port>/p2p/<peer id>, e.g. /ip4/192.168.1.10/tcp/2403/p2p/12D3KooW… '
  + '(the bootstrap node prints it at start as "mesh listening on …")';
/** The peer id pi-peer.yaml carries until --bootstrap or FLOWROUTER_BOOTSTRAP replaces it. */
export const PLACEHOLDER_PEER_ID = '12D3KooWReplaceWithTheBootstrapPeerId';

const HOST_PORT = /^\[?([\w.:-]+?)\]?:(\d{1,5})$/;
const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.?)*$/;
/** Multihash codes of libp2p peer ids: identity (Ed25519/secp256k1 keys inline) and sha2-256 (RSA keys). */
const PEER_ID_HASHES = new Set([0x00, 0x12]);

function peerIdProblem(id: string): string | null {
  try {
    const digest = decodeMultihash(base58btc.baseDecode(id));
    return PEER_ID_HASHES.has(digest.code) ? null : `ends in "${id}", which is not a libp2p peer id`;
  } catch {
    return `has an invalid peer id "${id}" (a peer id is base58, like the 12D3KooW… the bootstrap node prints)`;
  }
}

/** Why `entry` cannot be a bootstrap address, or null when it is one; every answer says what a valid entry looks like. */
export function bootstrapProblem(entry: string): string | null {
  const why = ((): string | null => {
    if (entry.trim() === '') return 'is empty';
    if (entry.includes(PLACEHOLDER_PEER_ID)) {
      return "is still the placeholder from mesh-configs/pi-peer.yaml: start with --bootstrap <the bootstrap node's address> or set FLOWROUTER_BOOTSTRAP";
    }
    const hostPort = HOST_PORT.exec(entry);
    if (hostPort) return `is host:port; write it as a multiaddr with the node's peer id: /ip4/${hostPort[1]}/tcp/${hostPort[2]}/p2p/<peer id>`;
    if (!entry.startsWith('/')) return 'is not a multiaddr (it must start with "/")';
    const parts = entry.split('/').slice(1);
    const [proto, host, tcp, port, p2p, id, ...rest] = parts;
    if (
      proto === 'ip4'
        ? !isIPv4(host ?? '')
        : proto === 'ip6'
          ? !isIPv6(host ?? '')
          : ['dns', 'dns4', 'dns6'].includes(proto)
            ? !DNS_NAME.test(host ?? '')
            : true
    ) {
      return proto && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(proto)
        ? `has an invalid ${proto} address "${host ?? ''}"`
        : `must start with /ip4, /ip6 or /dns4 (not /${proto ?? ''})`;
    }
    if (tcp !== 'tcp') return 'needs /tcp/<port> after the address (the mesh dials TCP only)';
    if (!/^\d{1,5}$/.test(port ?? '') || Number(port) < 1 || Number(port) > 65535) return `has an invalid TCP port "${port ?? ''}"`;
    if (p2p === undefined || p2p === '') return 'has no /p2p/<peer id>: the dialler must know whom it reaches (a stale address could be anyone)';
    if (p2p !== 'p2p' || id === undefined || rest.length > 0) return 'must end in /p2p/<peer id>, with nothing after it';
    return peerIdProblem(id);
  })();
  return why === null ? null : `"${entry}" ${why}; a bootstrap entry is ${BOOTSTRAP_SHAPE}`;
}
