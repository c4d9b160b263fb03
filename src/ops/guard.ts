// An admin-key guard for the operator routes that browsers can pass too (HTTP Basic prompts for the key on /ui).
import type { FastifyRequest } from 'fastify';
import { FlowRouterError } from '../core/errors.ts';
import { presentedKey } from '../tenancy/index.ts';

/** Refuses requests without an admin key; the 401 asks browsers for Basic credentials so the dashboard can be opened. */
export function adminKeyGuard(isAdminKey: (key: string) => boolean | Promise<boolean>): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const key = presentedKey(request.headers);
    if (key !== undefined && await isAdminKey(key)) return;
    throw new FlowRouterError(401, 'authentication_error', key === undefined ? 'missing_api_key' : 'invalid_api_key',
      key === undefined ? 'This route needs the admin key' : 'The key given is not the admin key',
      { headers: { 'www-authenticate': 'Basic realm="flowrouter", charset="UTF-8"' } });
  };
}
