// The admin HTTP API for client keys (/admin/keys): closed unless an admin key is configured, and then only for its holder.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { NodeConfig } from '../config/index.ts';
import { ClientError, FlowRouterError, PermissionError } from '../core/errors.ts';
import { checkKeyCollections } from './collections.ts';
import { presentedKey, secretsEqual } from './credentials.ts';
import { parseExpiry, type KeyPolicy, type KeyRecord } from './keys.ts';
import type { Budgets } from './limits.ts';
import type { Tenancy } from './tenancy.ts';

/**
 * A key as the API and the CLI show it (snake_case, ISO dates, current spend: this node's, and on a mesh sharing limits
 * every member's as heard): never its secret.
 */
export function keyJson(rec: KeyRecord, spentUsd?: number, meshSpentUsd?: number): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: rec.id,
    name: rec.name,
    tenant: rec.tenant ?? null,
    chains: rec.chains ?? null,
    models: rec.models ?? null,
    collections: rec.collections ?? null,
    rpm: rec.rpm ?? null,
    tpm: rec.tpm ?? null,
    budget_usd: rec.budgetUsd ?? null,
    budget_period: rec.budgetPeriod ?? null,
    spent_usd: spentUsd ?? null,
    ...(meshSpentUsd === undefined ? {} : { mesh_spent_usd: meshSpentUsd }),
    origin: rec.origin ?? null,
    expires_at: iso(rec.expiresAt),
    created_at: iso(rec.createdAt),
    revoked_at: iso(rec.revokedAt),
    rotated_at: iso(rec.rotatedAt),
  };
}

export interface CreateKeyBody {
  name: string;
  tenant?: string;
  chains?: string[];
  models?: string[];
  collections?: string[];
  rpm?: number;
  tpm?: number;
  budget_usd?: number;
  budget_period?: 'day' | 'month';
  expires?: string;
}

const createKeySchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64 },
    tenant: { type: 'string', minLength: 1 },
    chains: { type: 'array', items: { type: 'string', minLength: 1 } },
    models: { type: 'array', items: { type: 'string', minLength: 1 } },
    collections: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 } },
    rpm: { type: 'integer', minimum: 1 },
    tpm: { type: 'integer', minimum: 1 },
    budget_usd: { type: 'number', minimum: 0 },
    budget_period: { type: 'string', enum: ['day', 'month'] },
    expires: { type: 'string', minLength: 1 },
  },
};

/** Turns create options (API body or CLI flags) into a key policy, checking the tenant exists. */
export function policyFrom(body: Omit<CreateKeyBody, 'name'>, config: NodeConfig, now = Date.now()): KeyPolicy {
  if (body.tenant !== undefined && !config.tenants.has(body.tenant)) {
    throw new ClientError(`no tenant named "${body.tenant.slice(0, 64)}" in the config (tenants: ${[...config.tenants.keys()].join(', ') || 'none'})`, {
      param: 'tenant',
    });
  }
  if (body.budget_period !== undefined && body.budget_usd === undefined) throw new ClientError('budget_period needs budget_usd', { param: 'budget_period' });
  checkKeyCollections(body.collections, body.tenant === undefined ? undefined : config.tenants.get(body.tenant));
  return {
    tenant: body.tenant,
    chains: body.chains,
    models: body.models,
    collections: body.collections,
    rpm: body.rpm,
    tpm: body.tpm,
    budgetUsd: body.budget_usd,
    budgetPeriod: body.budget_usd !== undefined ? (body.budget_period ?? 'month') : undefined,
    expiresAt: body.expires === undefined ? undefined : parseExpiry(body.expires, now),
  };
}

export function spentOf(budgets: Budgets, rec: KeyRecord): number | undefined {
  return rec.budgetUsd === undefined ? undefined : budgets.spent(rec.id, rec.budgetPeriod ?? 'month');
}

/** Requires the admin key; with none configured the endpoint is closed, never open. */
export function requireAdminKey(config: () => NodeConfig): (request: FastifyRequest) => void {
  return (request) => {
    const adminKey = config().auth.adminKey;
    if (!adminKey) {
      throw new PermissionError(
        `The admin API is disabled: set auth.admin_key in the config (e.g. "admin_key: \${FLOWROUTER_ADMIN_KEY}", 16+ random characters) and send it as "Authorization: Bearer …"`,
        'admin_disabled',
      );
    }
    const presented = presentedKey(request.headers);
    if (!presented || !secretsEqual(presented, adminKey)) {
      // The Basic challenge lets a browser ask for the key when it opens /ui (the key is the password).
      throw new FlowRouterError(
        401,
        'authentication_error',
        presented ? 'invalid_admin_key' : 'missing_admin_key',
        presented ? 'The key given is not the admin key' : 'This endpoint needs the admin key',
        { headers: { 'www-authenticate': 'Basic realm="flowrouter", charset="UTF-8"' } },
      );
    }
  };
}

/**
 * Guards operator endpoints (knowledge writes, status, metrics, dashboard): open in single-user mode on a
 * loopback node, the admin key as soon as auth is on (an admin key is set or `auth.mode: required`).
 */
export function operatorGuard(config: () => NodeConfig): (request: FastifyRequest) => void {
  const admin = requireAdminKey(config);
  return (request) => {
    const { auth } = config();
    if (auth.adminKey || auth.mode === 'required') admin(request);
  };
}

/** Register with `{ prefix: '/admin' }`. */
export function adminRoutes(tenancy: Tenancy, config: () => NodeConfig): FastifyPluginAsync {
  return async (app) => {
    const guard = requireAdminKey(config);
    app.addHook('onRequest', async (request) => guard(request));

    app.post('/keys', { schema: { body: createKeySchema } }, async (request, reply) => {
      const { name, ...rest } = request.body as CreateKeyBody;
      const { key, record } = tenancy.keys.create(name, policyFrom(rest, config()));
      return reply.code(201).send({ ...keyJson(record, spentOf(tenancy.budgets, record), tenancy.meshSpent(record)), key });
    });

    app.get('/keys', async (request) => {
      const includeRevoked = (request.query as { all?: string }).all === 'true';
      return { object: 'list', data: tenancy.keys.list({ includeRevoked }).map((r) => keyJson(r, spentOf(tenancy.budgets, r), tenancy.meshSpent(r))) };
    });

    app.delete('/keys/:id', async (request) => keyJson(tenancy.keys.revoke((request.params as { id: string }).id)));

    app.post('/keys/:id/rotate', async (request) => {
      const { key, record } = tenancy.keys.rotate((request.params as { id: string }).id);
      return { ...keyJson(record, spentOf(tenancy.budgets, record), tenancy.meshSpent(record)), key };
    });
  };
}
