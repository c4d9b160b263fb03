// The router's HTTP surface, as a fastify plugin: GET /v1/router/status.
import type { FastifyInstance } from 'fastify';
import type { Router } from './router.ts';

export interface RouterRoutesOptions {
  router: Router;
}

export async function routerRoutes(app: FastifyInstance, opts: RouterRoutesOptions): Promise<void> {
  app.get('/v1/router/status', async () => opts.router.status());
}
