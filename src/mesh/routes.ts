// HTTP view of the mesh for operators and `flowrouter peers`: GET /v1/mesh/peers and /v1/mesh/status.
import type { FastifyPluginAsync } from 'fastify';
import { FlowRouterError } from '../core/errors.ts';
import type { MeshNode } from './node.ts';
import type { ReplicationStatus } from './replication/index.ts';

export interface MeshRoutesOptions {
  /** The running mesh node; absent while it is still starting (the routes answer 503 then). */
  mesh: MeshNode | (() => MeshNode | undefined);
  /** Knowledge replication: per-origin versions and each peer's lag, when replication runs. */
  replication?: () => ReplicationStatus | null;
  /** Client-key replication, the same figures for the key log. */
  keys?: () => ReplicationStatus | null;
  /** Client keys' limits counted mesh-wide: which members are in contact (see tenancy/shared). */
  limits?: () => unknown;
  /** Whether the router's breaker for a peer is open (its forwards kept failing). */
  breakerOpen?: (peerId: string) => boolean;
}

export const meshRoutes: FastifyPluginAsync<MeshRoutesOptions> = async (app, opts) => {
  const mesh = (): MeshNode => {
    const m = typeof opts.mesh === 'function' ? opts.mesh() : opts.mesh;
    if (!m)
      throw new FlowRouterError(503, 'server_error', 'mesh_starting', 'The mesh is still starting; try again in a moment', { headers: { 'retry-after': '1' } });
    return m;
  };
  app.get('/v1/mesh/peers', async () => ({
    object: 'list',
    data: mesh()
      .peers()
      .map((p) => (opts.breakerOpen?.(p.peerId) ? { ...p, health: 'breaker-open' as const } : p)),
  }));
  app.get('/v1/mesh/status', async () => ({
    ...mesh().status(),
    replication: opts.replication?.() ?? null,
    keys: opts.keys?.() ?? null,
    limits: opts.limits?.() ?? null,
  }));
};
