// A wire-faithful fake OpenAI-compatible server (also Azure's paths) on 127.0.0.1:0 for tests and benchmarks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerResponses, type ResponsesReply } from './openai-responses.ts';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: any;
}

/** Return true when the request was handled; otherwise the default reply is used. */
export type FakeHandler = (req: ReceivedRequest, res: ServerResponse) => boolean | Promise<boolean>;

export interface FakeOpenAI {
  url: string;
  requests: ReceivedRequest[];
  handler: FakeHandler | null;
  /** Scripts the Responses API's answers (`/responses`); the default echoes the last user text. */
  responsesReply?: (body: any) => ResponsesReply;
  close(): Promise<void>;
}

export function chatResponse(model: string, content: string, extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1700000000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    ...extra,
  };
}

/** Writes an OpenAI SSE stream of `parts` as content deltas, then a finish chunk, usage if asked, and [DONE]. */
export function writeChatStream(res: ServerResponse, model: string, parts: string[], includeUsage: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1700000000, model };
  res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
  for (const p of parts) res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`);
  res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  if (includeUsage)
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: parts.length, total_tokens: 5 + parts.length } })}\n\n`,
    );
  res.end('data: [DONE]\n\n');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function openaiError(
  res: ServerResponse,
  status: number,
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

/** OpenAI's Chat Completions request fields; anything else is refused, as the real API refuses it. */
const CHAT_FIELDS = new Set([
  'model',
  'messages',
  'audio',
  'frequency_penalty',
  'function_call',
  'functions',
  'logit_bias',
  'logprobs',
  'max_completion_tokens',
  'max_tokens',
  'metadata',
  'modalities',
  'n',
  'parallel_tool_calls',
  'prediction',
  'presence_penalty',
  'prompt_cache_key',
  'prompt_cache_retention',
  'reasoning_effort',
  'response_format',
  'safety_identifier',
  'seed',
  'service_tier',
  'stop',
  'store',
  'stream',
  'stream_options',
  'temperature',
  'tool_choice',
  'tools',
  'top_logprobs',
  'top_p',
  'user',
  'verbosity',
  'web_search_options',
]);
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio', 'function_call']);
const PART_FIELDS = new Set(['type', 'text', 'image_url', 'input_audio', 'file', 'refusal', 'prompt_cache_breakpoint']);

/** The first field OpenAI would refuse as unknown, in its words, or null. */
export function unknownChatField(b: any): string | null {
  for (const k of Object.keys(b)) if (!CHAT_FIELDS.has(k)) return `Unrecognized request argument supplied: ${k}`;
  for (const [i, m] of (b.messages as any[]).entries()) {
    const extra =
      Object.keys(m).find((k) => !MESSAGE_FIELDS.has(k))
      ?? (Array.isArray(m.content) ? m.content.flatMap((p: object) => Object.keys(p)).find((k: string) => !PART_FIELDS.has(k)) : undefined)
      ?? (m.tool_calls ?? []).flatMap((c: object) => Object.keys(c)).find((k: string) => !['id', 'type', 'function'].includes(k));
    if (extra) return `Additional properties are not allowed ('${extra}' was unexpected) - 'messages.${i}'`;
  }
  return null;
}

/** The first reason OpenAI would refuse this chat request (roles, unknown fields, tool calls and results that do not pair up), or null. */
export function validateChatRequest(b: any): string | null {
  if (typeof b?.model !== 'string' || !Array.isArray(b.messages) || b.messages.length === 0) return "'messages' is a required property";
  if ('flowrouter' in b) return 'Unrecognized request argument supplied: flowrouter';
  for (const [i, m] of b.messages.entries()) {
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) return `Invalid role ${m.role}`;
    if (m.role === 'tool') {
      // A tool message answers one call of the nearest assistant message with tool_calls, with only tool messages in between.
      let j = i - 1;
      while (j >= 0 && b.messages[j].role === 'tool') j--;
      const calls: string[] = j >= 0 ? (b.messages[j].tool_calls ?? []).map((c: { id: string }) => c.id) : [];
      if (!calls.includes(m.tool_call_id)) return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
    }
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) {
      const answered = new Set<string>();
      for (let k = i + 1; k < b.messages.length && b.messages[k].role === 'tool'; k++) answered.add(b.messages[k].tool_call_id);
      const missing = m.tool_calls.map((c: { id: string }) => c.id).filter((id: string) => !answered.has(id));
      if (missing.length)
        return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${missing.join(', ')}`;
    }
  }
  return null;
}

/** Who may call: anyone (a local server), an OpenAI key (`Authorization: Bearer`), or Azure (`api-key` on its deployment paths). */
export type FakeAuth = 'none' | 'openai' | 'azure';

const AZURE_PATH = /^\/openai\/deployments\/[^/]+\/(chat\/completions|completions|embeddings)\?(.*&)?api-version=[^&]+/;
/** Azure's v1 surface (the Responses API): no deployment in the path, none of api-version. */
const AZURE_V1_PATH = /^\/openai\/v1\/responses$/;

/** Sends the refusal the real service would for missing credentials or a wrong path; true when it refused. */
function refuse(auth: FakeAuth, req: ReceivedRequest, res: ServerResponse): boolean {
  if (auth === 'openai' && !/^Bearer \S+/.test(String(req.headers.authorization ?? ''))) {
    openaiError(
      res,
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
    return true;
  }
  if (auth === 'azure') {
    if (!req.headers['api-key']) {
      sendJson(res, 401, {
        error: {
          code: '401',
          message:
            'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        },
      });
      return true;
    }
    if (!AZURE_PATH.test(req.url) && !AZURE_V1_PATH.test(req.url)) {
      sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
      return true;
    }
  }
  return false;
}

/** Default behaviour: validates like OpenAI (model, messages, roles, known fields) and echoes the last user message as "echo: …". */
async function defaultReply(req: ReceivedRequest, res: ServerResponse, fake: FakeOpenAI): Promise<void> {
  const b = req.body;
  // GET /v1/models: what local servers (llama.cpp, Ollama, vLLM) and OpenAI answer; a node's health probe asks it.
  if (req.method === 'GET' && /\/models\/?(\?.*)?$/.test(req.url)) {
    sendJson(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1_700_000_000, owned_by: 'system' }] });
    return;
  }
  if (/\/responses$/.test(req.url)) return answerResponses(res, b, fake.responsesReply);
  if (req.url.includes('/embeddings')) {
    const inputs = Array.isArray(b.input) ? b.input : [b.input];
    sendJson(res, 200, {
      object: 'list',
      model: b.model,
      data: inputs.map((_: unknown, i: number) => ({ object: 'embedding', index: i, embedding: [0.1, 0.2, 0.3] })),
      usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
    });
    return;
  }
  if (req.url.includes('/completions') && !req.url.includes('/chat/')) {
    if (b.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'cmpl-fake', object: 'text_completion', created: 1, model: b.model, choices: [{ index: 0, text: 'legacy', finish_reason: null }] })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    } else
      sendJson(res, 200, {
        id: 'cmpl-fake',
        object: 'text_completion',
        created: 1,
        model: b.model,
        choices: [{ index: 0, text: `legacy: ${b.prompt}`, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    return;
  }
  const invalid = validateChatRequest(b) ?? unknownChatField(b);
  if (invalid) {
    openaiError(res, 400, invalid);
    return;
  }
  const last = [...b.messages].reverse().find((m: { role: string }) => m.role === 'user');
  const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  if (b.stream) writeChatStream(res, b.model, ['echo', ': ', text], b.stream_options?.include_usage === true);
  else sendJson(res, 200, chatResponse(b.model, `echo: ${text}`));
}

export async function startFakeOpenAI(handler: FakeHandler | null = null, opts: { auth?: FakeAuth; port?: number } = {}): Promise<FakeOpenAI> {
  const requests: ReceivedRequest[] = [];
  const fake: FakeOpenAI = { url: '', requests, handler, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = null;
    const raw = Buffer.concat(chunks).toString('utf8');
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      openaiError(res, 400, 'We could not parse the JSON body of your request.');
      return;
    }
    const received = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
    requests.push(received);
    if (refuse(opts.auth ?? 'none', received, res)) return;
    try {
      if (fake.handler && (await fake.handler(received, res))) return;
      await defaultReply(received, res, fake);
    } catch {
      if (!res.headersSent) openaiError(res, 500, 'fake server error', 'server_error');
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}/v1`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
