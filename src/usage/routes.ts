// The usage HTTP endpoints: GET /v1/usage (grouped totals) and GET /v1/usage/export.csv (billing lines), for this node or,
// with `scope=mesh`, every member's rows merged.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../core/database.ts';
import { ClientError, NotFoundError } from '../core/errors.ts';
import { localDailyRows, mergeUsage, mergeUsageCsv, type DailyRow, type MemberUsage } from './mesh-report.ts';
import { parseGroup, parseTime, usageCsv, usageSummary, type UsageRange } from './report.ts';

/** Runs first on every usage route; throws (e.g. AuthError) to refuse. */
type Guard = (request: FastifyRequest) => unknown;

/** The other members' rows for a range (asked over the mesh), with who answered. */
export type MeshUsageSource = (range: UsageRange) => Promise<{ self: string; members: MemberUsage[]; rows: DailyRow[][] }>;

interface RangeQuery {
  by?: string;
  from?: string;
  to?: string;
  scope?: string;
}

export function registerUsageRoutes(app: FastifyInstance, deps: { db: Db; flush: () => void; guard?: Guard; mesh?: () => MeshUsageSource | undefined }): void {
  const rangeOf = (q: RangeQuery) => ({ from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to') });
  /** The members' rows and this node's, when the query asks for the mesh; null for this node alone. */
  const meshRows = async (q: RangeQuery, range: UsageRange) => {
    if (q.scope === undefined || q.scope === 'node') return null;
    if (q.scope !== 'mesh') throw new ClientError(`scope: expected node or mesh, got "${q.scope.slice(0, 40)}"`, { param: 'scope' });
    const source = deps.mesh?.();
    if (!source) throw new NotFoundError('scope=mesh needs the mesh: it is not enabled (or not started yet) on this node', 'mesh_disabled');
    const { self, members, rows } = await source(range);
    deps.flush();
    const local = localDailyRows(deps.db, range);
    return { members: [{ peer: self, status: 'ok' as const, rows: local.length }, ...members], rows: [local, ...rows] };
  };
  app.get('/v1/usage', async (request) => {
    if (deps.guard) await deps.guard(request);
    const q = request.query as RangeQuery;
    const by = parseGroup(q.by);
    const range = rangeOf(q);
    const mesh = await meshRows(q, range);
    if (mesh) {
      return {
        object: 'usage',
        scope: 'mesh',
        by,
        from: range.from ?? null,
        to: range.to ?? null,
        data: mergeUsage(mesh.rows, by),
        members: mesh.members,
        complete: mesh.members.every((m) => m.status === 'ok'),
      };
    }
    deps.flush();
    return { object: 'usage', by, from: range.from ?? null, to: range.to ?? null, data: usageSummary(deps.db, by, range) };
  });
  app.get('/v1/usage/export.csv', async (request, reply) => {
    if (deps.guard) await deps.guard(request);
    const q = request.query as RangeQuery;
    const range = rangeOf(q);
    const mesh = await meshRows(q, range);
    if (mesh) {
      // Who answered travels in a header: a CSV has no place for it.
      reply.header('x-flowrouter-mesh-members', mesh.members.map((m) => `${m.peer}=${m.status}`).join(', '));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="usage-mesh.csv"')
        .send(mergeUsageCsv(mesh.rows));
    }
    deps.flush();
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="usage.csv"')
      .send(usageCsv(deps.db, range));
  });
}
