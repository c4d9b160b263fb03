// The fake OpenAI server's Responses API (`POST /v1/responses`, Azure's `/openai/v1/responses`): refuses what the
// real one refuses for a stateless caller, answers a scripted (or echoing) response as JSON or OpenAI's SSE sequence.
import type { ServerResponse } from 'node:http';

/** The request fields of the Responses API (openai SDK's ResponseCreateParams); anything else is refused. */
const FIELDS = new Set([
  'access_programs',
  'background',
  'background_options',
  'context_management',
  'conversation',
  'image',
  'include',
  'input',
  'instructions',
  'max_output_tokens',
  'max_tool_calls',
  'metadata',
  'model',
  'moderation',
  'parallel_tool_calls',
  'previous_response_id',
  'prompt',
  'prompt_cache_key',
  'prompt_cache_options',
  'prompt_cache_retention',
  'reasoning',
  'safety_identifier',
  'service_tier',
  'store',
  'stream',
  'stream_options',
  'temperature',
  'text',
  'tool_choice',
  'tools',
  'top_logprobs',
  'top_p',
  'truncation',
  'user',
  // Sent by Codex CLI, OpenAI's own client, though the SDK's types do not list it yet.
  'client_metadata',
]);

/** Encrypted reasoning the fake hands out; anything else in `encrypted_content` fails to decrypt. */
export const fakeEncrypted = (text: string): string => `enc_fake_${Buffer.from(text).toString('base64url')}`;

export interface ResponsesScript {
  /** Output items (ids and statuses are filled in). */
  output: Record<string, unknown>[];
  status?: 'completed' | 'incomplete';
  usage?: { input_tokens: number; output_tokens: number; cached_tokens?: number; reasoning_tokens?: number };
  /** Extra events to send before response.completed in a stream (e.g. event types added after a client was written). */
  extraEvents?: Record<string, unknown>[];
  /** Extra top-level fields on the response object. */
  extra?: Record<string, unknown>;
}

export type ResponsesReply = ResponsesScript | { status: number; error: { message: string; type: string; code: string | null; param?: string | null } };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const error = (status: number, message: string, code: string | null = null, param: string | null = null): ResponsesReply => ({
  status,
  error: { message, type: 'invalid_request_error', code, param },
});

/** The first reason OpenAI would refuse this request from a caller that stores nothing, or null. */
export function validateResponsesRequest(b: any): ResponsesReply | null {
  if (!b || typeof b !== 'object' || typeof b.model !== 'string')
    return error(400, "Missing required parameter: 'model'.", 'missing_required_parameter', 'model');
  for (const k of Object.keys(b)) if (!FIELDS.has(k)) return error(400, `Unknown parameter: '${k}'.`, 'unknown_parameter', k);
  if (b.previous_response_id)
    return error(400, `Previous response with id '${b.previous_response_id}' not found.`, 'previous_response_not_found', 'previous_response_id');
  for (const [i, item] of (Array.isArray(b.input) ? b.input : []).entries()) {
    if (item?.type !== 'reasoning') continue;
    if (!item.encrypted_content) {
      if (b.store === false)
        return error(
          404,
          `Item with id '${item.id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
          null,
          'input',
        );
    } else if (!String(item.encrypted_content).startsWith('enc_fake_')) {
      return error(400, `The encrypted content for item ${item.id ?? i} could not be verified.`, 'invalid_encrypted_content', 'input');
    }
  }
  return null;
}

function lastUserText(b: any): string {
  if (typeof b.input === 'string') return b.input;
  const last = [...(b.input ?? [])].reverse().find((i: any) => (i.type ?? 'message') === 'message' && i.role === 'user');
  return typeof last?.content === 'string' ? last.content : (last?.content ?? []).map((p: any) => p.text ?? '').join('');
}

let seq = 0;

/** The whole Response object for a script. */
export function fullResponse(b: any, script: ResponsesScript) {
  const id = `resp_fake${++seq}`;
  const output = script.output.map((item, i) => ({
    id: `${item.type === 'message' ? 'msg' : item.type === 'function_call' ? 'fc' : 'item'}_fake${seq}_${i}`,
    status: 'completed',
    ...item,
  }));
  const u = script.usage ?? { input_tokens: 9, output_tokens: 4 };
  return {
    id,
    object: 'response',
    created_at: 1700000000,
    status: script.status ?? 'completed',
    error: null,
    incomplete_details: script.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model: b.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
    store: b.store ?? true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    top_p: 1,
    truncation: 'disabled',
    user: null,
    metadata: {},
    usage: {
      input_tokens: u.input_tokens,
      input_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
      output_tokens: u.output_tokens,
      output_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
      total_tokens: u.input_tokens + u.output_tokens,
    },
    ...script.extra,
  };
}

/** OpenAI's event sequence for a response: created, in_progress, each item (added, its parts and deltas, done), completed. */
export function responseEvents(full: ReturnType<typeof fullResponse>, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const ev = (type: string, data: Record<string, unknown>) => events.push({ type, ...data });
  const shell = { ...full, status: 'in_progress', output: [], usage: null };
  ev('response.created', { response: shell });
  ev('response.in_progress', { response: shell });
  full.output.forEach((item: any, output_index) => {
    const at = { item_id: item.id, output_index };
    if (item.type === 'message') {
      ev('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
      const text = item.content?.[0]?.text ?? '';
      ev('response.content_part.added', { ...at, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
      for (const delta of [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))])
        if (delta) ev('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] });
      ev('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] });
      ev('response.content_part.done', { ...at, content_index: 0, part: item.content[0] });
    } else if (item.type === 'function_call') {
      ev('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
      ev('response.function_call_arguments.delta', { ...at, delta: item.arguments });
      ev('response.function_call_arguments.done', { ...at, arguments: item.arguments, name: item.name });
    } else {
      ev('response.output_item.added', { output_index, item });
    }
    ev('response.output_item.done', { output_index, item });
  });
  for (const e of extra) events.push(e);
  ev(full.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: full });
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

/** Answers one Responses request: refused as OpenAI would, else `reply`'s script (default: echo the last user text). */
export function answerResponses(res: ServerResponse, b: any, reply?: (body: any) => ResponsesReply): void {
  const result = validateResponsesRequest(b)
    ?? reply?.(b) ?? {
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `echo: ${lastUserText(b)}`, annotations: [] }] }],
    };
  if ('error' in result) return sendJson(res, result.status, { error: result.error });
  const full = fullResponse(b, result);
  if (!b.stream) return sendJson(res, 200, full);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of responseEvents(full, result.extraEvents)) res.write(`event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
  res.end();
}
