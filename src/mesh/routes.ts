// HTTP view of the mesh for operators and `flowrouter peers`: GET /v1/mesh/peers and /v1/mesh/status.
import type { FastifyPluginAsync } from 'fastify';
import type { MeshNode } from './node.ts';

export const meshRoutes: FastifyPluginAsync<{ mesh: MeshNode }> = async (app, opts) => {
  app.get('/v1/mesh/peers', async () => ({ object: 'list', data: opts.mesh.peers() }));
  app.get('/v1/mesh/status', async () => opts.mesh.status());
};
