// The HTTP surface: OpenAI-compatible routes on fastify, bodies validated by schema, errors in the OpenAI shape.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ChatRequest, CompletionsRequest, EmbeddingsRequest } from '../core/openai.ts';
import { ClientError } from '../core/errors.ts';
import type { RequestMeta } from '../router/index.ts';
import { chatBodySchema, completionsBodySchema, embeddingsBodySchema } from './schemas.ts';
import { deferredChildLogger } from './child-logger.ts';
import { installErrorHandling, sendError } from './errors.ts';
import { pipeRaw, writeChatStream } from './sse.ts';
import { validateChatSemantics } from './validate.ts';
import { deferredValidators } from './validators.ts';
import type { GatewayServices } from './service.ts';

export interface GatewayOptions {
  bodyLimitBytes: number;
  logger: FastifyServerOptions['logger'];
}

/** Fastify's client-abort signal: aborted when the client closes the connection before the response ended. */
function clientSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort(new ClientError('client closed the connection', { status: 499, code: 'client_closed_request' }));
  });
  return ac.signal;
}

export function buildGateway(services: GatewayServices, opts: GatewayOptions): FastifyInstance {
  const validators = deferredValidators();
  const app = Fastify({
    logger: opts.logger,
    bodyLimit: opts.bodyLimitBytes,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: deferredChildLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: validators.buildValidator } },
  });
  // Half a second after listen, once start-up's own work (and the first /ready) is done, the body schemas compile in
  // the background; a request before that compiles the one it needs.
  app.addHook('onListen', async () => { setTimeout(() => void validators.warm(), 500).unref(); });
  installErrorHandling(app);

  // Many clients (curl -d, Node's fetch with a string body: text/plain) send JSON without the JSON content type: parse any body as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  async function metaOf(request: FastifyRequest, reply: FastifyReply): Promise<RequestMeta> {
    const client = services.authenticate ? await services.authenticate(request.headers) : undefined;
    return { requestId: request.id, signal: clientSignal(reply), headers: request.headers, client };
  }

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const r = services.ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', detail: r.detail });
  });

  app.get('/v1/models', async (request) => {
    if (services.authenticate) await services.authenticate(request.headers);
    return { object: 'list', data: services.models() };
  });

  app.post('/v1/chat/completions', { schema: { body: chatBodySchema } }, async (request, reply) => {
    const req = request.body as ChatRequest;
    validateChatSemantics(req);
    const meta = await metaOf(request, reply);
    const outcome = await services.chat(req, meta);
    const headers = { 'x-request-id': request.id, ...outcome.headers };
    if (outcome.result.kind === 'json') {
      outcome.done?.({ aborted: false });
      return reply.code(200).headers(headers).send(outcome.result.response);
    }
    reply.hijack();
    const end = await writeChatStream(reply.raw, 200, headers, outcome.result.chunks);
    outcome.done?.(end);
    if (end.error !== undefined) request.log.warn({ err: { message: (end.error as Error)?.message } }, 'stream ended by an upstream error');
  });

  app.post('/v1/embeddings', { schema: { body: embeddingsBodySchema } }, async (request, reply) => {
    const meta = await metaOf(request, reply);
    const { body, headers } = await services.embeddings(request.body as EmbeddingsRequest, meta);
    return reply.headers({ 'x-request-id': request.id, ...headers }).send(body);
  });

  app.post('/v1/completions', { schema: { body: completionsBodySchema } }, async (request, reply) => {
    const meta = await metaOf(request, reply);
    const out = await services.completions(request.body as CompletionsRequest, meta);
    const headers = { 'x-request-id': request.id, ...out.headers };
    if (out.kind === 'json') return reply.headers(headers).send(out.body);
    reply.hijack();
    await pipeRaw(reply.raw, 200, headers, out.body);
  });

  return app;
}

export { sendError };
