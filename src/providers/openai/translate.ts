// OpenAI wire format: the internal shape already, so translation is mostly a copy with Flow Router's own fields removed.
import type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, ContentPart, EmbeddingsResponse, FunctionTool } from '../../core/openai.ts';
import { ClientError, UpstreamError } from '../../core/errors.ts';
import type { HttpRequestSpec, ProviderAccount, SseEvent, StreamTranslator, TranslationContext } from '../types.ts';
import { parseErrorBody, upstreamHttpError } from '../classify.ts';

/**
 * The body sent to any OpenAI-compatible server: the client's request with the target's model and no `flowrouter`
 * field. A body translated from another client API also loses the internal extensions (core/openai.ts), which
 * OpenAI refuses as unknown fields; a chat client's own body keeps every field it sent.
 */
export function toOpenAIBody(req: ChatRequest, model: string): Record<string, unknown> {
  const { flowrouter: fr, ...rest } = req;
  const body: Record<string, unknown> = fr?.inbound ? withoutExtensions(rest as ChatRequest) : rest;
  body.model = model;
  if (body.stream && !(req.stream_options && 'include_usage' in req.stream_options)) {
    // Ask for usage so it can be recorded; the chunk is dropped again unless the client asked for it.
    body.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
  }
  return body;
}

function withoutExtensions(req: ChatRequest): Record<string, unknown> {
  const { top_k: _k, thinking: _t, ...rest } = req;
  return { ...rest, messages: req.messages.map(plainMessage), ...(req.tools ? { tools: req.tools.map(plainTool) } : {}) };
}

function plainMessage(m: ChatMessage, i: number): ChatMessage {
  const { reasoning_content: _r, thinking_blocks: _b, extra_content: _e, is_error: isError, ...rest } = m;
  const out: ChatMessage = { ...rest };
  if (m.tool_calls) out.tool_calls = m.tool_calls.map(({ extra_content: _x, ...call }) => call);
  if (Array.isArray(m.content)) out.content = m.content.map((p, j) => plainPart(p, `messages[${i}].content[${j}]`));
  // OpenAI has no error flag on tool results; the text says it instead.
  if (isError) out.content = typeof out.content === 'string' ? `Error: ${out.content}` : [{ type: 'text', text: 'Error:' }, ...(out.content ?? [])];
  return out;
}

function plainPart(p: ContentPart, param: string): ContentPart {
  if (p.type === 'file' && p.file.file_url !== undefined) {
    throw new ClientError(`${param}: chat-completions targets take files as file_data or file_id, not by URL`, { param, code: 'unsupported_content' });
  }
  if (!('cache_control' in p)) return p;
  const { cache_control: _c, ...rest } = p;
  return rest as ContentPart;
}

function plainTool(t: FunctionTool): FunctionTool {
  const { cache_control: _c, ...rest } = t;
  return rest;
}

export function openaiHeaders(account: ProviderAccount): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', ...account.headers };
  if (account.key) h.authorization = `Bearer ${account.key}`;
  if (account.org) h['openai-organization'] = account.org;
  if (account.project) h['openai-project'] = account.project;
  return h;
}

export function toOpenAIRequest(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  return { method: 'POST', path: '/chat/completions', headers: openaiHeaders(account), body: toOpenAIBody(req, ctx.model) };
}

/**
 * OpenAI-compatible servers name reasoning text `reasoning` (vLLM, Ollama, OpenRouter) or `reasoning_content`
 * (DeepSeek); the internal shape reads the latter, so the former is copied there (and kept for chat clients).
 */
function withReasoningContent(m: { reasoning?: unknown; reasoning_content?: unknown } | undefined): void {
  if (m && typeof m.reasoning === 'string' && m.reasoning_content === undefined) m.reasoning_content = m.reasoning;
}

export function fromOpenAIResponse(body: unknown, ctx: TranslationContext): ChatResponse {
  const res = body as ChatResponse & { error?: unknown };
  if (!res || typeof res !== 'object' || !Array.isArray(res.choices)) {
    if (res && typeof res === 'object' && res.error) {
      const e = parseErrorBody(JSON.stringify(res));
      throw upstreamHttpError('upstream', 500, e.message, {}, e);
    }
    throw new UpstreamError('protocol', 'upstream returned a response without choices');
  }
  for (const c of res.choices) withReasoningContent(c?.message);
  return {
    ...res,
    id: res.id ?? ctx.id,
    object: 'chat.completion',
    created: res.created ?? ctx.created,
    model: res.model ?? ctx.model,
  };
}

/** OpenAI SSE: each data line is a chunk; `[DONE]` ends the stream; a `{error}` object mid-stream is an in-band error. */
export function openaiStreamTranslator(req: ChatRequest, ctx: TranslationContext): StreamTranslator {
  const wantsUsage = req.stream_options?.include_usage === true;
  let finished = false;
  return {
    get finished() {
      return finished;
    },
    push(ev: SseEvent): ChatChunk[] {
      const data = ev.data.trim();
      if (data === '[DONE]') {
        finished = true;
        return [];
      }
      if (!data) return [];
      let chunk: ChatChunk & { error?: unknown };
      try {
        chunk = JSON.parse(data);
      } catch {
        throw new UpstreamError('protocol', 'upstream sent a malformed stream event');
      }
      if (chunk.error) {
        const e = parseErrorBody(data);
        throw upstreamHttpError('upstream', 500, e.message, {}, e);
      }
      if (!Array.isArray(chunk.choices)) throw new UpstreamError('protocol', 'upstream sent a stream event without choices');
      for (const c of chunk.choices) withReasoningContent(c?.delta);
      chunk.id ??= ctx.id;
      chunk.object = 'chat.completion.chunk';
      chunk.created ??= ctx.created;
      chunk.model ??= ctx.model;
      if (!wantsUsage && chunk.usage && chunk.choices.length === 0) {
        // Usage we asked for on the client's behalf: keep it out of the client's stream, but let the caller see it.
        return [{ ...chunk, flowrouter_internal_usage: true }];
      }
      return [chunk];
    },
    end() {
      return [];
    },
  };
}

export function fromOpenAIError(status: number, body: string, headers: Record<string, string>): UpstreamError {
  const e = parseErrorBody(body);
  return upstreamHttpError('upstream', status, e.message, headers, e);
}

export function fromOpenAIEmbeddings(body: unknown, ctx: TranslationContext): EmbeddingsResponse {
  const res = body as EmbeddingsResponse;
  if (!res || !Array.isArray(res.data)) throw new UpstreamError('protocol', 'upstream returned embeddings without data');
  return { object: 'list', data: res.data, model: res.model ?? ctx.model, usage: res.usage ?? { prompt_tokens: 0, total_tokens: 0 } };
}
