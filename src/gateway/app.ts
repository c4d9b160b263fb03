// The HTTP surface: OpenAI-compatible routes on fastify, bodies validated by schema, errors in the OpenAI shape.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ChatRequest, CompletionsRequest, EmbeddingsRequest } from '../core/openai.ts';
import type { ClientInfo, InboundRequest, Operation, Outcome, RequestContext } from '../pipeline/index.ts';
import { chatBodySchema, completionsBodySchema, embeddingsBodySchema } from './schemas.ts';
import { deferredChildLogger } from './child-logger.ts';
import { createRequestContext, traceHeaders } from './edge.ts';
import { installErrorHandling, sendError } from './errors.ts';
import { writeSse } from './sse.ts';
import { validateChatSemantics } from './validate.ts';
import { messagesRoutes } from './messages.ts';
import { responsesRoutes } from './responses.ts';
import { deferredValidators } from './validators.ts';
import type { GatewayServices } from './service.ts';

export interface GatewayOptions {
  bodyLimitBytes: number;
  logger: FastifyServerOptions['logger'];
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
  app.addHook('onListen', async () => {
    setTimeout(() => void validators.warm(), 500).unref();
  });
  installErrorHandling(app);

  // Many clients (curl -d, Node's fetch with a string body: text/plain) send JSON without the JSON content type: parse any body as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  const authenticate = async (request: FastifyRequest) => (services.authenticate ? services.authenticate(request.headers) : undefined);
  async function contextFor(request: FastifyRequest, reply: FastifyReply, operation: Operation, body: { model: string }): Promise<RequestContext> {
    return createRequestContext(request, reply, operation, body, await authenticate(request));
  }

  /** Sends an outcome: JSON as one body, a stream as server-sent events ending in `[DONE]`; headers rendered from the trace. */
  async function respond<O extends Operation>(request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, outcome: Outcome<O>): Promise<unknown> {
    const headers = { 'x-request-id': request.id, ...traceHeaders(ctx.trace) };
    if (outcome.kind === 'json') return reply.code(200).headers(headers).send(outcome.response);
    reply.hijack();
    const end = await writeSse(reply.raw, 200, headers, outcome.chunks);
    if (end.error !== undefined) request.log.warn({ err: { message: (end.error as Error)?.message } }, 'stream ended by an upstream error');
    return undefined;
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
    const ctx = await contextFor(request, reply, 'chat', req);
    return respond(request, reply, ctx, await services.chat(req, ctx));
  });

  // The other client APIs run the same chat pipeline, translated at their edge (each in its own scope: its error shape).
  const clientApi = {
    chat: services.chat,
    authenticate,
    countTokens: services.countTokens,
    pingMs: services.streamKeepaliveMs,
    context: (request: FastifyRequest, reply: FastifyReply, req: ChatRequest, inbound: InboundRequest, client: ClientInfo | undefined) =>
      createRequestContext(request, reply, 'chat', req, client, inbound),
  };
  app.register(messagesRoutes, clientApi);
  app.register(responsesRoutes, { ...clientApi, ...services.responses });

  app.post('/v1/embeddings', { schema: { body: embeddingsBodySchema } }, async (request, reply) => {
    const req = request.body as EmbeddingsRequest;
    const ctx = await contextFor(request, reply, 'embeddings', req);
    return respond(request, reply, ctx, await services.embeddings(req, ctx));
  });

  app.post('/v1/completions', { schema: { body: completionsBodySchema } }, async (request, reply) => {
    const req = request.body as CompletionsRequest;
    const ctx = await contextFor(request, reply, 'completions', req);
    return respond(request, reply, ctx, await services.completions(req, ctx));
  });

  return app;
}

export { sendError };
