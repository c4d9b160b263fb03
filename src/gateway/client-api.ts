// What the routes of the other client APIs (Anthropic Messages, OpenAI Responses) share: their dependencies, the
// response headers, and the model-name rule of the chat body schema.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { ClientInfo, Handler, InboundRequest, RequestContext } from '../pipeline/index.ts';
import { traceHeaders } from './edge.ts';

/** A count_tokens answer: exact when an Anthropic target counted it, else Flow Router's estimate. */
export interface TokenCount {
  inputTokens: number;
  exact: boolean;
}

export interface ClientApiRouteDeps {
  /** The node's chat pipeline: every client API runs the same one. */
  chat: Handler<'chat'>;
  /** Who is calling (throws AuthError); undefined for an anonymous caller. */
  authenticate: (request: FastifyRequest) => Promise<ClientInfo | undefined>;
  /** The request's context, built at the edge. */
  context: (request: FastifyRequest, reply: FastifyReply, req: ChatRequest, inbound: InboundRequest, client: ClientInfo | undefined) => RequestContext;
  countTokens: (req: ChatRequest, ctx: RequestContext) => Promise<TokenCount>;
  /** Quiet time after which a stream gets a keep-alive. */
  pingMs: () => number;
}

/** Model names go into logs and the trace: the same rule as the chat body schema's. */
export function checkModelName(model: unknown): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this check refuses.
  if (typeof model === 'string' && (model.length > 256 || /[\u0000-\u001f\u007f]/.test(model))) {
    throw new ClientError('model: at most 256 characters, no control characters', { param: 'model', code: 'invalid_value' });
  }
}

/** Paths listed in `x-flowrouter-left-out`, at most. */
const LEFT_OUT_SHOWN = 20;

/**
 * The request id and trace headers of every answer; whether the upstream's own answer was passed through, or else
 * what the translated request left out (so nothing is dropped silently).
 */
export function clientApiHeaders(request: FastifyRequest, ctx: RequestContext, passthrough: boolean): Record<string, string> {
  const h: Record<string, string> = { 'x-request-id': request.id, ...traceHeaders(ctx.trace) };
  const leftOut = ctx.inbound?.leftOut ?? [];
  if (passthrough) h['x-flowrouter-passthrough'] = 'true';
  else if (leftOut.length)
    h['x-flowrouter-left-out'] = leftOut.slice(0, LEFT_OUT_SHOWN).join(', ') + (leftOut.length > LEFT_OUT_SHOWN ? `, … (${leftOut.length} in all)` : '');
  return h;
}
