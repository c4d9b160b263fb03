// A wire-faithful fake OpenAI-compatible server (also Azure's paths) on 127.0.0.1:0 for tests and benchmarks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  close(): Promise<void>;
}

export function chatResponse(model: string, content: string, extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-fake', object: 'chat.completion', created: 1700000000, model,
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
  if (includeUsage) res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: parts.length, total_tokens: 5 + parts.length } })}\n\n`);
  res.end('data: [DONE]\n\n');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function openaiError(res: ServerResponse, status: number, message: string, type = 'invalid_request_error', code: string | null = null, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

/** OpenAI's Chat Completions request fields; anything else is refused, as the real API refuses it. */
const CHAT_FIELDS = new Set(['model', 'messages', 'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias', 'logprobs',
  'max_completion_tokens', 'max_tokens', 'metadata', 'modalities', 'n', 'parallel_tool_calls', 'prediction', 'presence_penalty',
  'prompt_cache_key', 'prompt_cache_retention', 'reasoning_effort', 'response_format', 'safety_identifier', 'seed', 'service_tier', 'stop',
  'store', 'stream', 'stream_options', 'temperature', 'tool_choice', 'tools', 'top_logprobs', 'top_p', 'user', 'verbosity', 'web_search_options']);
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio', 'function_call']);
const PART_FIELDS = new Set(['type', 'text', 'image_url', 'input_audio', 'file', 'refusal', 'prompt_cache_breakpoint']);

/** The first field OpenAI would refuse as unknown, in its words, or null. */
export function unknownChatField(b: any): string | null {
  for (const k of Object.keys(b)) if (!CHAT_FIELDS.has(k)) return `Unrecognized request argument supplied: ${k}`;
  for (const [i, m] of (b.messages as any[]).entries()) {
    const extra = Object.keys(m).find((k) => !MESSAGE_FIELDS.has(k))
      ?? (Array.isArray(m.content) ? m.content.flatMap((p: object) => Object.keys(p)).find((k: string) => !PART_FIELDS.has(k)) : undefined)
      ?? (m.tool_calls ?? []).flatMap((c: object) => Object.keys(c)).find((k: string) => !['id', 'type', 'function'].includes(k));
    if (extra) return `Additional properties are not allowed ('${extra}' was unexpected) - 'messages.${i}'`;
  }
  return null;
}

/** Default behaviour: validates like OpenAI (model, messages, roles, known fields) and echoes the last user message as "echo: …". */
async function defaultReply(req: ReceivedRequest, res: ServerResponse): Promise<void> {
  const b = req.body;
  if (req.url.includes('/embeddings')) {
    const inputs = Array.isArray(b.input) ? b.input : [b.input];
    sendJson(res, 200, { object: 'list', model: b.model, data: inputs.map((_: unknown, i: number) => ({ object: 'embedding', index: i, embedding: [0.1, 0.2, 0.3] })), usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } });
    return;
  }
  if (req.url.includes('/completions') && !req.url.includes('/chat/')) {
    if (b.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'cmpl-fake', object: 'text_completion', created: 1, model: b.model, choices: [{ index: 0, text: 'legacy', finish_reason: null }] })}\n\n`);
      res.end('data: [DONE]\n\n');
    } else sendJson(res, 200, { id: 'cmpl-fake', object: 'text_completion', created: 1, model: b.model, choices: [{ index: 0, text: `legacy: ${b.prompt}`, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    return;
  }
  if (typeof b?.model !== 'string' || !Array.isArray(b.messages) || b.messages.length === 0) {
    openaiError(res, 400, "'messages' is a required property");
    return;
  }
  for (const m of b.messages) {
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) { openaiError(res, 400, `Invalid role ${m.role}`); return; }
  }
  const unknown = unknownChatField(b);
  if (unknown) { openaiError(res, 400, unknown); return; }
  const last = [...b.messages].reverse().find((m: { role: string }) => m.role === 'user');
  const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  if (b.stream) writeChatStream(res, b.model, ['echo', ': ', text], b.stream_options?.include_usage === true);
  else sendJson(res, 200, chatResponse(b.model, `echo: ${text}`));
}

export async function startFakeOpenAI(handler: FakeHandler | null = null): Promise<FakeOpenAI> {
  const requests: ReceivedRequest[] = [];
  const fake: FakeOpenAI = { url: '', requests, handler, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = null;
    const raw = Buffer.concat(chunks).toString('utf8');
    try { body = raw ? JSON.parse(raw) : null; } catch { openaiError(res, 400, 'We could not parse the JSON body of your request.'); return; }
    const received = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
    requests.push(received);
    try {
      if (fake.handler && await fake.handler(received, res)) return;
      await defaultReply(received, res);
    } catch {
      if (!res.headersSent) openaiError(res, 500, 'fake server error', 'server_error');
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}/v1`;
  fake.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return fake;
}
