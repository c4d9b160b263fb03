// A forwarded request is checked exactly like an HTTP one (the gateway's body schema, compiled by the same ajv
// compiler with the same options, then the message-level rules) before any work: a member may send anything.
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyError } from 'fastify';
import { ClientError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import { toFlowRouterError } from '../gateway/errors.ts';
import { chatBodySchema } from '../gateway/schemas.ts';
import { validateChatSemantics } from '../gateway/validate.ts';

/** The gateway's ajv options (`src/gateway/app.ts`): no coercion, no defaults, nothing removed. */
const AJV_OPTIONS = { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } } as const;

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
let validateBody: Validate | undefined;

/** Compiled on the first forward (~0.1 s once), not when the mesh loads. */
function bodyValidator(): Validate {
  validateBody ??= AjvCompiler()({}, AJV_OPTIONS)({ schema: chatBodySchema, method: 'POST', url: '/v1/chat/completions', httpPart: 'body' }) as Validate;
  return validateBody;
}

/** The frame's request as a ChatRequest, or the same coded 400 an HTTP client would get for it. */
export function validateForwardedRequest(request: unknown): ChatRequest {
  const validate = bodyValidator();
  if (!validate(request)) {
    const err = Object.assign(new Error('invalid forwarded request'), { validation: validate.errors }) as unknown as FastifyError;
    throw toFlowRouterError(err) ?? new ClientError('Invalid forwarded request', { code: 'invalid_value' });
  }
  const chat = request as ChatRequest;
  validateChatSemantics(chat);
  return chat;
}
