// HTTP view of the mesh for operators and `flowrouter peers`: GET /v1/mesh/peers and /v1/mesh/status.
import type { FastifyPluginAsync } from 'fastify';
import type { MeshNode } from './node.ts';
import type { ReplicationStatus } from './replication/index.ts';

export interface MeshRoutesOptions {
  mesh: MeshNode;
  /** Knowledge replication: per-origin versions and each peer's lag, when replication runs. */
  replication?: () => ReplicationStatus | null;
}

export const meshRoutes: FastifyPluginAsync<MeshRoutesOptions> = async (app, opts) => {
  app.get('/v1/mesh/peers', async () => ({ object: 'list', data: opts.mesh.peers() }));
  app.get('/v1/mesh/status', async () => ({ ...opts.mesh.status(), replication: opts.replication?.() ?? null }));
};
