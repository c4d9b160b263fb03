// Admission against the counters a mesh shares: a request that fits the merged totals waits, if it must, until the members
// in contact have acknowledged enough of this node's earlier ones, so no member is ever more than `unconfirmed` behind.
import { FlowRouterError } from '../../core/errors.ts';
import type { SharedCounters } from './counters.ts';

/** How often a waiting admission looks again without news (a member may have gone out of contact meanwhile). */
const RECHECK_MS = 50;

export class SharedAdmission {
  readonly counters: SharedCounters;
  private readonly waiters = new Set<() => void>();
  /** When a member last acknowledged anything: waiting in line behind other requests is progress, silence is not. */
  private lastAckAt = Date.now();

  constructor(counters: SharedCounters) {
    this.counters = counters;
    counters.onAck(() => {
      this.lastAckAt = Date.now();
      for (const wake of [...this.waiters]) wake();
    });
  }

  /**
   * Waits for the next acknowledgement (or a short while), bounded by the request's signal. It gives up only when no
   * member acknowledged anything since `deadline` was set and for as long: members in contact that neither answer nor
   * go silent for longer than the contact timeout allows.
   */
  async settle(signal: AbortSignal, deadline: number): Promise<void> {
    if (signal.aborted) throw signal.reason;
    const now = Date.now();
    if (now > deadline && now - this.lastAckAt > this.counters.options.contactTimeoutMs + 1_000) {
      throw new FlowRouterError(
        503,
        'server_error',
        'mesh_limits_unconfirmed',
        "Members of the mesh have not confirmed this key's recent requests; its limits cannot be checked mesh-wide right now. Retry in a moment.",
        { headers: { 'retry-after': '1' } },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason);
      };
      const timer = setTimeout(done, RECHECK_MS);
      this.waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The latest time an admission keeps waiting: past the contact timeout a silent member is out of contact anyway. */
  deadline(): number {
    return Date.now() + this.counters.options.contactTimeoutMs + 1_000;
  }
}
