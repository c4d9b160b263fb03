// What each mesh peer may spend through this node's accounts (`mesh.forward_limits`): requests and tokens per minute
// and a USD budget per peer, taken before a forward is served and settled on what it really used.
import type { ForwardLimits, NodeConfig } from '../config/index.ts';
import type { AnyLayer } from '../pipeline/index.ts';
import type { Allowances } from './allowance.ts';

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

/**
 * The forwarded path's admission: each peer's `mesh.forward_limits`, kept under `peer:<id>` (so spend survives a
 * restart) and held per attempt at the tried target's price like a client key's.
 */
export function peerLimitsLayer(config: () => NodeConfig, allowances: Allowances): AnyLayer {
  return (next) => (req, ctx) => {
    const limits = config().mesh.forwardLimits;
    // A forward made for a client key this node holds is under that key's limits instead (Tenancy.forwardedLayer).
    if (ctx.forwardedBy && limits && ctx.client?.id.startsWith('peer:') !== false) {
      // A peer's limits are this node's own: counted here, at once.
      void allowances.apply({ id: `peer:${ctx.forwardedBy}`, name: `mesh peer ${ctx.forwardedBy}`, why: 'mesh.forward_limits on this node', limits }, req, ctx);
    }
    return next(req, ctx);
  };
}

/** What members may spend through this node, said once at start (a warning on a node that requires client keys). */
export function forwardSpendNotice(config: NodeConfig): { level: 'info' | 'warn'; message: string } | undefined {
  const m = config.mesh;
  if (!m.enabled) return undefined;
  if (!m.acceptForwards)
    return { level: 'info', message: 'mesh: this node serves no forwarded requests (mesh.accept_forwards: false); members cannot spend its upstream accounts' };
  if (!m.forwardLimits) {
    return {
      level: config.auth.mode === 'required' ? 'warn' : 'info',
      message:
        "mesh: every member holding the mesh secret may spend this node's upstream accounts through forwarded requests WITHOUT LIMITS "
        + 'when a forward names no client key this node holds (a member with auth off, an anonymous caller). Set mesh.forward_limits '
        + '(rpm, tpm, budget_usd, budget_period) or mesh.accept_forwards: false.',
    };
  }
  return {
    level: 'info',
    message: `mesh: each member may spend through this node's upstream accounts at most ${describeLimits(m.forwardLimits)} (mesh.forward_limits)`,
  };
}

function describeLimits(l: ForwardLimits): string {
  const parts = [
    l.rpm !== undefined && `${l.rpm} requests/min`,
    l.tpm !== undefined && `${l.tpm} tokens/min`,
    l.budgetUsd !== undefined && `${usd(l.budgetUsd)} per ${l.budgetPeriod}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'anything (forward_limits sets no limit)';
}
