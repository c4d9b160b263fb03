// The Anthropic Messages API on the HTTP surface: POST /v1/messages (JSON and SSE) and /v1/messages/count_tokens,
// translated at this edge into the one chat pipeline and back, errors in Anthropic's shape.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatChunk, ChatRequest } from '../core/openai.ts';
import { rawFor } from '../core/passthrough.ts';
import { anthropicInbound } from '../inbound/index.ts';
import type { InboundRequest } from '../pipeline/index.ts';
import { errorHandler } from './errors.ts';
import { formatRawSse, writeEventStream, type StreamEncoding } from './event-stream.ts';
import { checkModelName, clientApiHeaders, type ClientApiRouteDeps } from './client-api.ts';

const {
  anthropicPassthroughBody,
  anthropicStreamEncoder,
  chatToAnthropicMessage,
  formatAnthropicSse,
  toAnthropicError,
  translateMessagesRequest,
  wantsThinking,
} = anthropicInbound;

/** Request headers of the Messages API that travel with a passed-through body (beta features). */
function betaHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const beta = headers['anthropic-beta'];
  const value = Array.isArray(beta) ? beta.join(',') : beta;
  return value ? { 'anthropic-beta': value } : {};
}

function inboundOf(body: anthropicInbound.MessagesRequest, request: FastifyRequest): { req: ChatRequest; inbound: InboundRequest } {
  checkModelName((body as { model?: unknown })?.model);
  const { request: req, untranslatable, leftOut } = translateMessagesRequest(body);
  return {
    req,
    inbound: { api: 'anthropic', body: anthropicPassthroughBody(body), headers: betaHeaders(request.headers), messages: req.messages, untranslatable, leftOut },
  };
}

/** Chunks as Anthropic events: the upstream's own when it is Anthropic (passthrough), else the encoder's. */
function anthropicEncoding(encoder: anthropicInbound.AnthropicStreamEncoder): StreamEncoding {
  let passthrough = false;
  const sse = (events: anthropicInbound.AnthropicSseEvent[]) => events.map(formatAnthropicSse).join('');
  return {
    chunk(chunk) {
      const raw = rawFor(chunk, 'anthropic');
      if (!raw) return sse(encoder.push(chunk));
      passthrough = true;
      return (raw.events ?? []).map(formatRawSse).join('');
    },
    end: () => (passthrough ? '' : sse(encoder.end())),
    error: (err) =>
      passthrough ? formatAnthropicSse({ event: 'error', data: { type: 'error', error: toAnthropicError(err).body.error } }) : sse(encoder.error(err)),
    ping: () => formatAnthropicSse({ event: 'ping', data: { type: 'ping' } }),
  };
}

export const messagesRoutes: FastifyPluginAsync<ClientApiRouteDeps> = async (scope, deps) => {
  // Every error of these routes, from a malformed body to an upstream failure, leaves in Anthropic's error shape.
  scope.setErrorHandler(errorHandler(toAnthropicError));
  // Anthropic's SDKs read the request id from `request-id` (errors included).
  scope.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
  });

  scope.post('/v1/messages', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as anthropicInbound.MessagesRequest;
    const { req, inbound } = inboundOf(body, request);
    const ctx = deps.context(request, reply, req, inbound, await deps.authenticate(request));
    const outcome = await deps.chat(req, ctx);
    const showThinking = wantsThinking(body);
    if (outcome.kind === 'json') {
      const raw = rawFor(outcome.response, 'anthropic');
      return reply
        .code(200)
        .headers(clientApiHeaders(request, ctx, !!raw))
        .send(raw ? raw.body : chatToAnthropicMessage(outcome.response, { showThinking }));
    }
    const first: IteratorResult<ChatChunk> = await outcome.chunks.next();
    const headers = { ...clientApiHeaders(request, ctx, !first.done && !!rawFor(first.value, 'anthropic')), 'request-id': request.id };
    reply.hijack();
    const encoder = anthropicStreamEncoder({ id: `msg_${request.id.replaceAll('-', '').slice(0, 24)}`, model: body.model, showThinking });
    const end = await writeEventStream(reply.raw, headers, outcome.chunks, anthropicEncoding(encoder), deps.pingMs(), first);
    if (end.error !== undefined) request.log.warn({ err: { message: (end.error as Error)?.message } }, 'stream ended by an upstream error');
    return undefined;
  });

  scope.post('/v1/messages/count_tokens', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as anthropicInbound.MessagesRequest;
    // The translation needs max_tokens, which count_tokens bodies do not have; a passthrough sends the body as it came.
    const { req, inbound } = inboundOf({ ...body, max_tokens: 1, stream: false }, request);
    inbound.body = anthropicPassthroughBody(body);
    const ctx = deps.context(request, reply, req, inbound, await deps.authenticate(request));
    const count = await deps.countTokens(req, ctx);
    return reply
      .code(200)
      .headers({ ...clientApiHeaders(request, ctx, count.exact), 'x-flowrouter-token-count': count.exact ? 'exact' : 'estimate' })
      .send({ input_tokens: count.inputTokens });
  });
};
