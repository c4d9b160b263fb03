// The usage HTTP endpoints: GET /v1/usage (grouped totals) and GET /v1/usage/export.csv (billing lines).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../core/database.ts';
import { parseGroup, parseTime, usageCsv, usageSummary } from './report.ts';

/** Runs first on every usage route; throws (e.g. AuthError) to refuse. */
type Guard = (request: FastifyRequest) => unknown;

interface RangeQuery { by?: string; from?: string; to?: string }

export function registerUsageRoutes(app: FastifyInstance, deps: { db: Db; flush: () => void; guard?: Guard }): void {
  const rangeOf = (q: RangeQuery) => ({ from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to') });
  app.get('/v1/usage', async (request) => {
    if (deps.guard) await deps.guard(request);
    const q = request.query as RangeQuery;
    const by = parseGroup(q.by);
    const range = rangeOf(q);
    deps.flush();
    return { object: 'usage', by, from: range.from ?? null, to: range.to ?? null, data: usageSummary(deps.db, by, range) };
  });
  app.get('/v1/usage/export.csv', async (request, reply) => {
    if (deps.guard) await deps.guard(request);
    const range = rangeOf(request.query as RangeQuery);
    deps.flush();
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="usage.csv"').send(usageCsv(deps.db, range));
  });
}
