// Keeps the configured bootstrap peers dialled: at start, again with growing pauses while one fails (a bootstrap node
// that restarts is rejoined), and every failure explained at warn once per kind of problem.
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { MeshStopping } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { diagnoseDial } from './dial-diagnosis.ts';
import type { DialProblem } from './dial-diagnosis.ts';
import type { MeshHost } from './host.ts';

const DIAL_TIMEOUT_MS = 5_000;
const TICK_MS = 1_000;
const FIRST_RETRY_MS = 1_000;
/** A bootstrap node back after an outage is found again within this long. */
const MAX_RETRY_MS = 10_000;
/** The same problem with the same peer is said again at most this often. */
const REPEAT_WARNING_MS = 10 * 60_000;

interface Entry {
  address: Multiaddr;
  peerId: string;
  failures: number;
  nextAttempt: number;
  warned: { problem: DialProblem; at: number } | null;
  dialling: boolean;
}

export interface BootstrapDialer {
  /** Whether `peer` is one of the bootstrap peers (their dials are this component's, not discovery's). */
  has(peer: PeerId): boolean;
  /** Dials the bootstrap peers now, then checks every second for one that is not connected and due again. */
  start(): void;
  stop(): void;
}

export function bootstrapDialer(host: MeshHost, addresses: readonly string[], log: Logger): BootstrapDialer {
  const lifetime = new AbortController();
  const entries: Entry[] = addresses.map((a) => {
    const address = multiaddr(a);
    const peerId = address.getComponents().find((c) => c.name === 'p2p')?.value ?? '';
    return { address, peerId, failures: 0, nextAttempt: 0, warned: null, dialling: false };
  });

  const dial = async (e: Entry): Promise<void> => {
    e.dialling = true;
    try {
      await host.dial(e.address, { signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) });
      if (e.failures > 0) log.info({ peer: e.peerId, address: e.address.toString(), after: e.failures }, 'mesh:bootstrap-reached');
      Object.assign(e, { failures: 0, warned: null });
    } catch (err) {
      if (lifetime.signal.aborted) return;
      e.failures++;
      e.nextAttempt = Date.now() + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(16, e.failures - 1));
      const { problem, hint } = diagnoseDial(e.address.toString(), err);
      const now = Date.now();
      if (e.warned?.problem !== problem || now - e.warned.at > REPEAT_WARNING_MS) {
        e.warned = { problem, at: now };
        log.warn({ peer: e.peerId, address: e.address.toString(), problem, check: hint, attempts: e.failures }, 'mesh:bootstrap-dial-failed');
      } else {
        log.debug({ peer: e.peerId, problem, attempts: e.failures }, 'mesh:bootstrap-dial-failed');
      }
    } finally {
      e.dialling = false;
    }
  };

  const tick = (): void => {
    const now = Date.now();
    for (const e of entries) {
      if (e.dialling || e.nextAttempt > now || e.peerId === host.peerId.toString()) continue;
      if (host.getConnections().some((c) => c.remotePeer.toString() === e.peerId && c.status === 'open')) continue;
      void dial(e);
    }
  };
  let timer: NodeJS.Timeout | undefined;

  return {
    has: (peer) => entries.some((e) => e.peerId === peer.toString()),
    start() {
      if (entries.length === 0 || timer) return;
      tick();
      timer = setInterval(tick, TICK_MS);
    },
    stop() {
      clearInterval(timer);
      lifetime.abort(new MeshStopping('mesh'));
    },
  };
}
