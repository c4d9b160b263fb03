// The operator's HTTP surface as a fastify plugin: GET /metrics (Prometheus text) and the /ui dashboard with its JSON.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics.ts';
import { summaryFromMetrics, type DashboardSummary } from './summary.ts';

export interface OpsRoutesOptions {
  metrics: Metrics;
  /** Builds the dashboard's data; `summaryFromMetrics(metrics)` when omitted. */
  summary?: () => DashboardSummary | Promise<DashboardSummary>;
  /** Runs before every route of this plugin; throws (e.g. AuthError) to refuse. The node passes the admin-key check when auth is on. */
  guard?: (request: FastifyRequest) => void | Promise<void>;
}

const UI_FILES: Record<string, string> = {
  'dashboard.js': 'application/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

function readUi(name: string): string {
  return readFileSync(new URL(`./ui/${name}`, import.meta.url), 'utf8');
}

/** The page only loads its own script and style and fetches its own JSON. */
const UI_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app: FastifyInstance, opts: OpsRoutesOptions) => {
  // Read once at registration: the files ship with the code and never change while the node runs.
  const page = readUi('index.html');
  const assets = new Map(Object.entries(UI_FILES).map(([name, type]) => [name, { type, body: readUi(name) }]));
  const summary = opts.summary ?? (() => summaryFromMetrics(opts.metrics));

  if (opts.guard) {
    const guard = opts.guard;
    app.addHook('onRequest', async (request) => {
      await guard(request);
    });
  }

  app.get('/metrics', async (_request, reply) => {
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  });

  const sendPage = async (_request: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').headers(UI_HEADERS).send(page);
  app.get('/ui', sendPage);
  app.get('/ui/', sendPage);

  app.get<{ Params: { file: string } }>('/ui/:file', async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).headers(UI_HEADERS).send(asset.body);
  });

  app.get('/ui/api/summary', async (_request, reply) => reply.header('cache-control', 'no-store').send(await summary()));
};
