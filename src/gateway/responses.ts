// The OpenAI Responses API on the HTTP surface: POST /v1/responses (JSON and SSE) through the one chat pipeline, and
// the stored responses it keeps (GET, DELETE, input_items), each visible to its owner only.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../core/errors.ts';
import type { ChatChunk } from '../core/openai.ts';
import { rawFor } from '../core/passthrough.ts';
import { responsesInbound } from '../inbound/index.ts';
import { ownerOf, responseNotFound, type ResponseStore } from '../responses/index.ts';
import { checkModelName, clientApiHeaders, type ClientApiRouteDeps } from './client-api.ts';
import { writeEventStream } from './event-stream.ts';
import { responsesEncoding, withFields, type ResponseFields } from './responses-stream.ts';

const { chatToResponse, nativeResponsesBody, responsesStreamEncoder, translateResponsesRequest } = responsesInbound;
type ResponsesRequest = responsesInbound.ResponsesRequest;
type InputItem = responsesInbound.InputItem;
type ResponseObject = responsesInbound.ResponseObject;

export interface ResponsesRouteDeps extends ClientApiRouteDeps {
  store: ResponseStore;
  /** `responses.store` of the live config: false keeps nothing, node-wide. */
  storing: () => boolean;
}

/** The turn's own input as items (a string input is one user message). */
function inputItemsOf(body: ResponsesRequest): InputItem[] {
  if (typeof body.input === 'string') return [{ type: 'message', role: 'user', content: body.input }];
  return Array.isArray(body.input) ? body.input : [];
}

/** Stored input items as the input_items list shows them: each with an id (the client's, or one from its position). */
function listedItems(responseId: string, items: InputItem[]): InputItem[] {
  const tail = responseId.replace(/^resp_/, '');
  return items.map((item, i) => ({
    ...item,
    type: item.type ?? 'message',
    id: item.id ?? `${item.type === 'message' || !item.type ? 'msg' : 'item'}_${tail}_in${i}`,
  }));
}

function pageOf(items: InputItem[], query: { order?: string; limit?: string; after?: string }) {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ClientError('limit: an integer from 1 to 100', { param: 'limit' });
  if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') throw new ClientError("order: 'asc' or 'desc'", { param: 'order' });
  const ordered = query.order === 'asc' ? items : [...items].reverse();
  const start = query.after === undefined ? 0 : ordered.findIndex((i) => i.id === query.after) + 1;
  const data = ordered.slice(start, start + limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < ordered.length };
}

export const responsesRoutes: FastifyPluginAsync<ResponsesRouteDeps> = async (scope, deps) => {
  scope.post('/v1/responses', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as ResponsesRequest;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ClientError('the request body must be a JSON object', { param: null });
    checkModelName(body.model);
    const client = await deps.authenticate(request);
    const owner = ownerOf(client);
    const storeOn = deps.storing();
    const previousId = typeof body.previous_response_id === 'string' ? body.previous_response_id : null;
    if (previousId && !storeOn)
      throw new ClientError(`Previous response with id '${previousId.slice(0, 100)}' not found: this node stores no responses`, {
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    const previous = previousId ? deps.store.conversation(previousId, owner) : [];
    const { request: req, untranslatable, leftOut } = translateResponsesRequest(body, { previous, resolveItem: (id) => previous.find((i) => i.id === id) });
    const ctx = deps.context(
      request,
      reply,
      req,
      { api: 'responses', body: nativeResponsesBody(body, previous), headers: {}, messages: req.messages, untranslatable, leftOut },
      client,
    );
    const outcome = await deps.chat(req, ctx);

    const fields: ResponseFields = { store: storeOn && body.store !== false, previous_response_id: previousId };
    const save = (response: ResponseObject) => {
      if (fields.store && (response.status === 'completed' || response.status === 'incomplete'))
        deps.store.save(owner, { id: response.id, previousId, input: inputItemsOf(body), response });
    };
    const rctx = { id: `resp_${randomBytes(16).toString('hex')}`, createdAt: Math.floor(Date.now() / 1000), previousResponseId: previousId };
    const echoed = { ...body, store: fields.store };
    if (outcome.kind === 'json') {
      const raw = rawFor(outcome.response, 'responses');
      const response = raw ? withFields(raw.body as ResponseObject, fields) : chatToResponse(outcome.response, echoed, rctx);
      save(response);
      return reply
        .code(200)
        .headers(clientApiHeaders(request, ctx, !!raw))
        .send(response);
    }
    const first: IteratorResult<ChatChunk> = await outcome.chunks.next();
    const headers = clientApiHeaders(request, ctx, !first.done && !!rawFor(first.value, 'responses'));
    reply.hijack();
    const encoding = responsesEncoding(responsesStreamEncoder(echoed, rctx), fields, save);
    const end = await writeEventStream(reply.raw, headers, outcome.chunks, encoding, deps.pingMs(), first);
    if (end.error !== undefined) request.log.warn({ err: { message: (end.error as Error)?.message } }, 'stream ended by an upstream error');
    return undefined;
  });

  /** The caller's own stored turn, or 404 (also for another owner's, and for any when this node stores none). */
  async function turnOf(request: FastifyRequest<{ Params: { id: string } }>) {
    const owner = ownerOf(await deps.authenticate(request));
    const turn = deps.storing() ? deps.store.get(request.params.id, owner) : undefined;
    if (!turn) throw responseNotFound(request.params.id);
    return { owner, turn };
  }

  scope.get<{ Params: { id: string } }>('/v1/responses/:id', async (request) => (await turnOf(request)).turn.response);

  scope.get<{ Params: { id: string }; Querystring: { order?: string; limit?: string; after?: string } }>('/v1/responses/:id/input_items', async (request) => {
    const { turn } = await turnOf(request);
    return pageOf(listedItems(turn.id, turn.input), request.query);
  });

  scope.delete<{ Params: { id: string } }>('/v1/responses/:id', async (request) => {
    const { owner, turn } = await turnOf(request);
    deps.store.delete(turn.id, owner);
    return { id: turn.id, object: 'response', deleted: true };
  });
};
