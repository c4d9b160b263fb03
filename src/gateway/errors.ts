// One error handler for the whole HTTP surface: everything leaves in the OpenAI error shape with the right status.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientError, FlowRouterError, renderError } from '../core/errors.ts';
import { contextOf, traceHeaders } from './edge.ts';

/** `/messages/0/role` → `messages[0].role` */
function paramOf(instancePath: string, missing?: string): string | null {
  const segs = instancePath.split('/').filter(Boolean);
  if (missing) segs.push(missing);
  if (segs.length === 0) return null;
  return segs.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

/** Maps fastify's own errors (validation, parsing, limits) to coded client errors. */
export function toFlowRouterError(err: FastifyError): FlowRouterError | null {
  if (err instanceof FlowRouterError) return err;
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0];
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const param = paramOf(v.instancePath, missing);
    const allowed = (v.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
    const detail = missing ? `'${param}' is required` : `'${param ?? 'body'}' ${v.message}${allowed ? `: ${allowed.map(String).join(', ')}` : ''}`;
    return new ClientError(`Invalid request: ${detail}`, { param, code: missing ? 'missing_required_parameter' : 'invalid_value' });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ClientError('Request body too large', { status: 413, code: 'request_too_large' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ClientError(
        `Invalid JSON body: ${err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'/, 'not valid JSON')}`,
        { code: 'invalid_json' },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ClientError('Unsupported content type: send application/json', { status: 415, code: 'unsupported_media_type' });
  }
  if (err instanceof SyntaxError || err.name === 'SyntaxError') return new ClientError(`Invalid JSON body: ${err.message}`, { code: 'invalid_json' });
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ClientError(err.message, { status: err.statusCode, code: (err.code ?? 'invalid_request').toLowerCase() });
  }
  return null;
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body, headers } = renderError(err);
  return reply.code(status).headers(headers).type('application/json').send(body);
}

/** Anything thrown → status, body and headers in one client API's error shape. */
export type ErrorRenderer = (err: unknown) => { status: number; body: unknown; headers: Record<string, string> };

/** fastify's error handler for a scope whose errors take `render`'s shape (the OpenAI one unless a client API has its own). */
export function errorHandler(render: ErrorRenderer = renderError) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = toFlowRouterError(err);
    if (!known) request.log.error({ err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    else if (known.status >= 500) request.log.warn({ code: known.code, status: known.status }, known.message);
    reply.header('x-request-id', request.id);
    // What the request got to before it failed: its chain and the attempts made.
    const ctx = contextOf(request);
    if (ctx) reply.headers(traceHeaders(ctx.trace));
    const { status, body, headers } = render(known ?? err);
    return reply.code(status).headers(headers).type('application/json').send(body);
  };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(errorHandler());
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new FlowRouterError(404, 'not_found_error', 'unknown_url', `Unknown request URL: ${request.method} ${request.url.split('?')[0].slice(0, 200)}`),
    ),
  );
}
