// A wire-faithful fake of the Anthropic Messages API on 127.0.0.1: validates requests like the real API, answers scripted replies.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkBlocks, checkThinkingConfig, fakeSignature } from './anthropic-checks.ts';

export { fakeSignature } from './anthropic-checks.ts';

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
}

export interface FakeBlock {
  type: string;
  [k: string]: unknown;
}
export interface FakeMessage {
  id?: string;
  model?: string;
  content: FakeBlock[];
  stop_reason?: string | null;
  stop_sequence?: string | null;
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_creation_input_tokens?: number;
    cache_read_input_tokens?: number;
    output_tokens_details?: { thinking_tokens: number };
  };
}
export interface FakeSseEvent {
  event: string;
  data: unknown;
}

/** A scripted reply: a message (sent as JSON, or as a real SSE sequence when the request streams), an error, or raw SSE events. */
export type FakeReply =
  | { message: FakeMessage; headers?: Record<string, string> }
  | { status: number; errorType: string; errorMessage: string; headers?: Record<string, string> }
  | { events: FakeSseEvent[] };

export type FakeHandler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeAnthropic {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

export const textReply = (text: string, extra: Partial<FakeMessage> = {}): FakeReply => ({ message: { content: [{ type: 'text', text }], ...extra } });

const TOP_LEVEL = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'stream',
  'tools',
  'tool_choice',
  'metadata',
  'thinking',
  'service_tier',
  'container',
  'mcp_servers',
  'cache_control',
  'output_config',
  'inference_geo',
  'speed',
]);
/** Fields the real API takes only with their beta flag in `anthropic-beta`. */
const BETA_FIELDS: Record<string, string> = { context_management: 'context-management-' };
/** Anthropic's server tools (`web_search_20250305`, …): a type with a date, a name, and their own settings instead of input_schema. */
const SERVER_TOOL = /^[a-z_]+_\d{8}$/;
const SERVER_TOOL_KEYS = new Set(['type', 'name', 'max_uses', 'allowed_domains', 'blocked_domains', 'user_location', 'cache_control']);
const MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** The first reason the real API would refuse this request, as [status, error type, message], or null if it is valid. */
export function validateRequest(req: FakeRequest): [number, string, string] | null {
  const bad = (message: string): [number, string, string] => [400, 'invalid_request_error', message];
  if (!req.headers['x-api-key']) return [401, 'authentication_error', 'x-api-key header is required'];
  if (!req.headers['anthropic-version']) return bad('anthropic-version: header is required');
  const b = req.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return bad('request body must be a JSON object');
  const betas = req.headers['anthropic-beta'] ?? '';
  for (const key of Object.keys(b)) {
    if (TOP_LEVEL.has(key) || (BETA_FIELDS[key] && betas.includes(BETA_FIELDS[key]))) continue;
    return bad(`${key}: Extra inputs are not permitted`);
  }
  if (typeof b.model !== 'string' || !b.model) return bad('model: Field required');
  if (b.max_tokens === undefined) return bad('max_tokens: Field required');
  if (!Number.isInteger(b.max_tokens) || b.max_tokens < 1) return bad('max_tokens: Input should be a valid positive integer');
  if (b.temperature !== undefined && !(typeof b.temperature === 'number' && b.temperature >= 0 && b.temperature <= 1)) return bad('temperature: range: 0..1');
  if (b.top_p !== undefined && !(typeof b.top_p === 'number' && b.top_p >= 0 && b.top_p <= 1)) return bad('top_p: range: 0..1');
  if (b.system !== undefined && typeof b.system !== 'string' && !Array.isArray(b.system)) return bad('system: Input should be a valid list');
  if (b.stop_sequences !== undefined && !(Array.isArray(b.stop_sequences) && b.stop_sequences.every((s: unknown) => typeof s === 'string')))
    return bad('stop_sequences: Input should be a valid list of strings');
  if (b.metadata !== undefined) for (const key of Object.keys(b.metadata)) if (key !== 'user_id') return bad(`metadata.${key}: Extra inputs are not permitted`);
  const toolNames = new Set<string>();
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return bad('tools: Input should be a valid list');
    for (const [i, t] of b.tools.entries()) {
      if (typeof t.type === 'string' && SERVER_TOOL.test(t.type)) {
        const extra = Object.keys(t).find((k) => !SERVER_TOOL_KEYS.has(k));
        if (extra) return bad(`tools.${i}.${t.type}.${extra}: Extra inputs are not permitted`);
        toolNames.add(String(t.name));
        continue;
      }
      if (typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name))
        return bad(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
      if (t.input_schema?.type !== 'object') return bad(`tools.${i}.input_schema.type: Input should be 'object'`);
      for (const key of Object.keys(t))
        if (!['name', 'description', 'input_schema', 'cache_control', 'type'].includes(key)) return bad(`tools.${i}.${key}: Extra inputs are not permitted`);
      toolNames.add(t.name);
    }
  }
  if (b.tool_choice !== undefined) {
    if (toolNames.size === 0) return bad('tool_choice: tool_choice may only be specified while providing tools');
    if (!['auto', 'any', 'tool', 'none'].includes(b.tool_choice.type)) return bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
    if (b.tool_choice.type === 'tool' && !toolNames.has(b.tool_choice.name)) return bad(`tool_choice.name: tool ${b.tool_choice.name} not found in tools`);
    if (b.tool_choice.type === 'none' && 'disable_parallel_tool_use' in b.tool_choice)
      return bad('tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted');
  }
  return validateMessages(b.messages, bad) ?? checkBlocks(b, bad) ?? checkThinkingConfig(b, bad);
}

function blocksOf(content: unknown): FakeBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content as FakeBlock[]);
}

function validateMessages(messages: unknown, bad: (m: string) => [number, string, string]): [number, string, string] | null {
  if (!Array.isArray(messages) || messages.length === 0) return bad('messages: at least one message is required');
  for (const [i, m] of messages.entries()) {
    if (m.role !== 'user' && m.role !== 'assistant') return bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    if (i === 0 && m.role !== 'user') return bad('messages: first message must use the "user" role');
    if (i > 0 && messages[i - 1].role === m.role)
      return bad(`messages: roles must alternate between "user" and "assistant", but found multiple "${m.role}" roles in a row`);
    const empty = m.content === '' || (Array.isArray(m.content) && m.content.length === 0);
    if (empty && !(i === messages.length - 1 && m.role === 'assistant'))
      return bad(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return bad(`messages.${i}.content: Input should be a valid list`);
    for (const [j, block] of blocksOf(m.content).entries()) {
      const where = `messages.${i}.content.${j}`;
      if (block.type === 'text' && (typeof block.text !== 'string' || block.text === '') && Array.isArray(m.content))
        return bad('messages: text content blocks must be non-empty');
      if (block.type === 'image') {
        const src = block.source as { type?: string; media_type?: string; data?: string; url?: string };
        if (src?.type === 'base64' && (!MEDIA_TYPES.has(src.media_type ?? '') || !src.data))
          return bad(`${where}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
        if (src?.type === 'url' && !/^https?:\/\//.test(src.url ?? '')) return bad(`${where}.image.source.url: invalid URL`);
        if (src?.type !== 'base64' && src?.type !== 'url') return bad(`${where}.image.source: Input tag does not match any of the expected tags`);
      }
      if ((block.type === 'tool_use' || block.type === 'thinking') && m.role !== 'assistant')
        return bad(`${where}: ${block.type} blocks are only allowed in assistant messages`);
      if (block.type === 'tool_use' && (typeof block.input !== 'object' || block.input === null || Array.isArray(block.input)))
        return bad(`${where}.tool_use.input: Input should be a valid dictionary`);
    }
    const toolProblem = validateToolPairing(messages, i, bad);
    if (toolProblem) return toolProblem;
  }
  return null;
}

/** tool_result blocks must answer, once each, exactly the tool_use ids of the assistant message just before. */
function validateToolPairing(messages: any[], i: number, bad: (m: string) => [number, string, string]): [number, string, string] | null {
  const m = messages[i];
  const results = blocksOf(m.content)
    .filter((b) => b.type === 'tool_result')
    .map((b) => String(b.tool_use_id));
  if (m.role === 'user' && results.length) {
    const prev = i > 0 ? blocksOf(messages[i - 1].content) : [];
    const uses = new Set(prev.filter((b) => b.type === 'tool_use').map((b) => String(b.id)));
    const unknown = results.filter((id) => !uses.has(id));
    if (unknown.length)
      return bad(
        `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unknown.join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
      );
    const dupes = results.filter((id, k) => results.indexOf(id) !== k);
    if (dupes.length) return bad(`messages.${i}.content: each \`tool_use\` id must have exactly one \`tool_result\` block; duplicates: ${dupes.join(', ')}`);
  }
  if (m.role === 'assistant' && i < messages.length - 1) {
    const uses = blocksOf(m.content)
      .filter((b) => b.type === 'tool_use')
      .map((b) => String(b.id));
    const next = new Set(
      blocksOf(messages[i + 1].content)
        .filter((b) => b.type === 'tool_result')
        .map((b) => String(b.tool_use_id)),
    );
    const unanswered = uses.filter((id) => !next.has(id));
    if (unanswered.length)
      return bad(
        `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
      );
  }
  return null;
}

/** Thinking blocks get the fake's signature (unless scripted with one), as the real API signs its own. */
const signed = (content: FakeBlock[]) =>
  content.map((b) => (b.type === 'thinking' && b.signature === undefined ? { ...b, signature: fakeSignature(String(b.thinking)) } : b));

function fullMessage(msg: FakeMessage, model: string, seq: number) {
  return {
    id: msg.id ?? `msg_fake_${seq}`,
    type: 'message',
    role: 'assistant',
    model: msg.model ?? model,
    content: signed(msg.content),
    stop_reason: msg.stop_reason === undefined ? (msg.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn') : msg.stop_reason,
    stop_sequence: msg.stop_sequence ?? null,
    usage: { input_tokens: 12, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...msg.usage },
  };
}

function halves(s: string): string[] {
  const mid = Math.ceil(s.length / 2);
  return s.length > 1 ? [s.slice(0, mid), s.slice(mid)] : [s];
}

/** The SSE sequence the real API sends for a message: deltas split in pieces, a `ping` after the first block starts. */
export function messageEvents(message: ReturnType<typeof fullMessage>): FakeSseEvent[] {
  const { content, stop_reason, stop_sequence, usage, ...head } = message;
  const events: FakeSseEvent[] = [
    {
      event: 'message_start',
      data: { type: 'message_start', message: { ...head, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } },
    },
  ];
  const ev = (type: string, data: Record<string, unknown>) => events.push({ event: type, data: { type, ...data } });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const text of halves(String(block.text))) ev('content_block_delta', { index, delta: { type: 'text_delta', text } });
    } else if (block.type === 'tool_use') {
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      // The real API opens with an empty partial_json before the pieces.
      for (const partial_json of ['', ...halves(JSON.stringify(block.input))])
        ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
    } else if (block.type === 'thinking') {
      ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      for (const thinking of halves(String(block.thinking))) ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } });
      ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: String(block.signature ?? fakeSignature(String(block.thinking))) } });
    } else if (block.type === 'redacted_thinking') {
      ev('content_block_start', { index, content_block: { type: 'redacted_thinking', data: block.data } });
    } else {
      // Server tool blocks (server_tool_use, web_search_tool_result…) start whole.
      ev('content_block_start', { index, content_block: block });
    }
    if (index === 0) ev('ping', {});
    ev('content_block_stop', { index });
  });
  ev('message_delta', { delta: { stop_reason, stop_sequence }, usage: { output_tokens: usage.output_tokens } });
  ev('message_stop', {});
  return events;
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_fake' }));
}

function sendEvents(res: ServerResponse, events: FakeSseEvent[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
  for (const e of events) res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  res.end();
}

/** count_tokens: the Messages checks without max_tokens, answered with a count of about four characters a token. */
function countTokens(res: ServerResponse, req: FakeRequest): void {
  const { max_tokens: _m, ...rest } = (req.body ?? {}) as Record<string, unknown>;
  if ('max_tokens' in (req.body ?? {})) return sendError(res, 400, 'invalid_request_error', 'max_tokens: Extra inputs are not permitted');
  const invalid = validateRequest({ ...req, body: { ...rest, max_tokens: 1_000_000 } });
  if (invalid) return sendError(res, ...invalid);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ input_tokens: Math.ceil(JSON.stringify(rest.messages).length / 4) }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Starts the fake; `handler` picks the reply for each valid request (default: a short text message). */
export async function startFakeAnthropic(handler: FakeHandler = () => textReply('Hello from the fake Anthropic server.')): Promise<FakeAnthropic> {
  const requests: FakeRequest[] = [];
  let seq = 0;
  const server = createServer(async (req, res) => {
    try {
      const text = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return sendError(res, 400, 'invalid_request_error', 'request body is not valid JSON');
      }
      const fake: FakeRequest = { method: req.method ?? '', path: req.url ?? '', headers, body };
      requests.push(fake);
      if (req.method === 'POST' && req.url === '/v1/messages/count_tokens') return countTokens(res, fake);
      if (req.method !== 'POST' || req.url !== '/v1/messages') return sendError(res, 404, 'not_found_error', 'Not Found');
      const invalid = validateRequest(fake);
      if (invalid) return sendError(res, ...invalid);
      const reply = await handler(fake);
      if ('events' in reply) return sendEvents(res, reply.events);
      if ('status' in reply) return sendError(res, reply.status, reply.errorType, reply.errorMessage, reply.headers);
      const message = fullMessage(reply.message, String((body as { model: string }).model), ++seq);
      if ((body as { stream?: boolean }).stream) return sendEvents(res, messageEvents(message));
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake', ...reply.headers });
      res.end(JSON.stringify(message));
    } catch (err) {
      sendError(res, 500, 'api_error', `fake handler failed: ${(err as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
