// Turns a failed dial into what an operator should check: the peer's node, the address's peer id, or the mesh secret.
import type { Logger } from '../core/logger.ts';

export type DialProblem = 'unreachable' | 'identity-mismatch' | 'foreign-network' | 'failed';

export interface Diagnosis {
  problem: DialProblem;
  /** One sentence: what happened and what to check. */
  hint: string;
}

/** Noise's message when the peer proves another identity than the one the address names. */
const IDENTITY = /identity key (\w+) does not match expected remote identity key (\w+)/;
const UNREACHABLE = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EADDRNOTAVAIL|timed? ?out|aborted/i;
/** Reset or cut right after the nonces: the peer could not read our first bytes, as with another pre-shared key. */
const CUT_IN_HANDSHAKE = /ECONNRESET|EPIPE|UnexpectedEOF|unexpected end|stream (was )?reset|does not hold this mesh's secret/i;

export function diagnoseDial(address: string, err: unknown): Diagnosis {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const identity = IDENTITY.exec(message);
  if (identity) {
    return {
      problem: 'identity-mismatch',
      hint:
        `the node at ${address} is ${identity[1]}, not the peer id the address names: the address is stale `
        + "(was that node's data directory, with mesh-identity.key, replaced?); copy the address it prints at start",
    };
  }
  if (CUT_IN_HANDSHAKE.test(message)) {
    return {
      problem: 'foreign-network',
      hint:
        `${address} cut the connection during the handshake, as a node with another mesh secret does: `
        + 'check that mesh.key on both nodes is the same file (copied from the first node, not created with a second `mesh init`)',
    };
  }
  if (UNREACHABLE.test(message)) {
    return {
      problem: 'unreachable',
      hint:
        `${address} does not answer (${message.split('\n')[0].slice(0, 160)}): check that its node runs, `
        + 'that it listens on that mesh port (mesh.port), and that no firewall drops the port',
    };
  }
  return { problem: 'failed', hint: `dialling ${address} failed: ${message.split('\n')[0].slice(0, 200)}` };
}

const FOREIGN_REPEAT_MS = 10 * 60_000;
/** Hosts remembered for rate limiting; a flood of addresses only resets it. */
const FOREIGN_HOSTS = 256;

/** Reports connections from hosts holding another mesh secret, each host at most once per ten minutes. */
export function foreignPeerReporter(log: Logger) {
  const warned = new Map<string, number>();
  return (address: string, direction: 'inbound' | 'outbound'): void => {
    const host = address.split('/')[2] ?? address;
    const now = Date.now();
    if (now - (warned.get(host) ?? -Infinity) < FOREIGN_REPEAT_MS) return;
    if (warned.size >= FOREIGN_HOSTS) warned.clear();
    warned.set(host, now);
    log.warn(
      {
        address,
        direction,
        check:
          `${host} speaks libp2p with another mesh secret (or is not a Flow Router node): `
          + 'if it should be a member, copy mesh.key from a member to it; otherwise it stays out',
      },
      'mesh:foreign-peer',
    );
  };
}
