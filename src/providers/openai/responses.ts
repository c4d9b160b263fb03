// OpenAI's Responses API as an upstream, for Responses clients passed through to targets with `api: responses`: the
// client's body goes up as sent but for the model; the answer is read into the internal chat shape for the layers.
import type { ChatChunk, ChatResponse, ChunkDelta, FinishReason, ToolCall, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { NativeApi, SseEvent, StreamTranslator, TranslationContext } from '../types.ts';
import { upstreamHttpError } from '../classify.ts';
import { openaiHeaders } from './translate.ts';

interface WireItem {
  type?: string;
  call_id?: string;
  name?: string;
  arguments?: string;
  content?: { type?: string; text?: string; refusal?: string }[];
  summary?: { text?: string }[];
}

interface WireResponse {
  id?: string;
  model?: string;
  created_at?: number;
  status?: string;
  incomplete_details?: { reason?: string } | null;
  error?: { code?: string; message?: string } | null;
  output?: WireItem[];
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    total_tokens?: number;
    input_tokens_details?: { cached_tokens?: number };
    output_tokens_details?: { reasoning_tokens?: number };
  } | null;
}

function toUsage(u: WireResponse['usage']): Usage | undefined {
  if (!u) return undefined;
  const prompt = u.input_tokens ?? 0;
  const completion = u.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u.total_tokens ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: u.input_tokens_details?.cached_tokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.output_tokens_details?.reasoning_tokens ?? 0 },
  };
}

function finishOf(res: WireResponse, calledTools: boolean): FinishReason {
  if (res.status === 'incomplete') return res.incomplete_details?.reason === 'content_filter' ? 'content_filter' : 'length';
  return calledTools ? 'tool_calls' : 'stop';
}

/** A failed response (`status: failed`, or the `response.failed` and `error` events) as the UpstreamError it is. */
function failure(error: { code?: string; message?: string } | null | undefined): UpstreamError {
  const code = error?.code ?? 'server_error';
  const status = /rate_limit/.test(code) ? 429 : /invalid|context/.test(code) ? 400 : 500;
  return upstreamHttpError('upstream', status, error?.message ?? 'the response failed', {}, { code });
}

/** Output items → the assistant message: text and refusals, function calls, reasoning summaries; hosted tools' items are the client's alone. */
export function fromResponsesResponse(body: unknown, ctx: TranslationContext): ChatResponse {
  const res = body as WireResponse;
  if (!res || typeof res !== 'object' || !Array.isArray(res.output)) throw new UpstreamError('protocol', 'upstream returned a response without output');
  if (res.status === 'failed') throw failure(res.error);
  let text = '';
  let refusal = '';
  let reasoning = '';
  const calls: ToolCall[] = [];
  for (const item of res.output) {
    if (item.type === 'message') {
      for (const p of item.content ?? []) {
        if (p.type === 'output_text') text += p.text ?? '';
        else if (p.type === 'refusal') refusal += p.refusal ?? '';
      }
    } else if (item.type === 'function_call') {
      calls.push({ id: item.call_id ?? '', type: 'function', function: { name: item.name ?? '', arguments: item.arguments ?? '' } });
    } else if (item.type === 'reasoning') reasoning += (item.summary ?? []).map((s) => s.text ?? '').join('');
  }
  const usage = toUsage(res.usage);
  return {
    id: res.id ?? ctx.id,
    object: 'chat.completion',
    created: res.created_at ?? ctx.created,
    model: res.model ?? ctx.model,
    choices: [
      {
        index: 0,
        finish_reason: finishOf(res, calls.length > 0),
        message: {
          role: 'assistant',
          content: text || (calls.length ? null : ''),
          ...(refusal ? { refusal } : {}),
          ...(calls.length ? { tool_calls: calls } : {}),
          ...(reasoning ? { reasoning_content: reasoning } : {}),
        },
      },
    ],
    ...(usage ? { usage } : {}),
  };
}

interface WireEvent {
  type?: string;
  response?: WireResponse;
  output_index?: number;
  item?: WireItem;
  delta?: string;
  code?: string;
  message?: string;
}

/** Responses SSE events → chat chunks: text, refusal and reasoning deltas, function calls by output index, then finish and usage. */
export function responsesStreamTranslator(ctx: TranslationContext): StreamTranslator {
  let id = ctx.id;
  let model = ctx.model;
  let finished = false;
  /** Output index of each function call → its tool-call index. */
  const calls = new Map<number, number>();
  const chunk = (delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  function done(res: WireResponse): ChatChunk[] {
    finished = true;
    const usage = toUsage(res.usage);
    const last = chunk({}, finishOf(res, calls.size > 0));
    return usage ? [last, { id, object: 'chat.completion.chunk', created: ctx.created, model, choices: [], usage }] : [last];
  }

  return {
    get finished() {
      return finished;
    },
    push(sse: SseEvent): ChatChunk[] {
      if (!sse.data.trim()) return [];
      let ev: WireEvent;
      try {
        ev = JSON.parse(sse.data);
      } catch {
        throw new UpstreamError('protocol', 'upstream sent a malformed Responses event');
      }
      switch (ev.type ?? sse.event) {
        case 'response.created':
          id = ev.response?.id ?? id;
          model = ev.response?.model ?? model;
          return [chunk({ role: 'assistant', content: '' })];
        case 'response.output_text.delta':
          return ev.delta ? [chunk({ content: ev.delta })] : [];
        case 'response.refusal.delta':
          return ev.delta ? [chunk({ refusal: ev.delta })] : [];
        case 'response.reasoning_summary_text.delta':
        case 'response.reasoning_text.delta':
          return ev.delta ? [chunk({ reasoning_content: ev.delta })] : [];
        case 'response.output_item.added': {
          if (ev.item?.type !== 'function_call') return [];
          const index = calls.size;
          calls.set(ev.output_index ?? index, index);
          return [chunk({ tool_calls: [{ index, id: ev.item.call_id, type: 'function', function: { name: ev.item.name ?? '', arguments: '' } }] })];
        }
        case 'response.function_call_arguments.delta': {
          const index = calls.get(ev.output_index ?? -1);
          return index === undefined || !ev.delta ? [] : [chunk({ tool_calls: [{ index, function: { arguments: ev.delta } }] })];
        }
        case 'response.completed':
        case 'response.incomplete':
          return done(ev.response ?? {});
        case 'response.failed':
          throw failure(ev.response?.error);
        case 'error':
          throw failure({ code: ev.code, message: ev.message });
        default:
          return [];
      }
    },
    end() {
      return [];
    },
  };
}

/** The Responses API at OpenAI (`POST /responses`); Azure's differs only in path and key header. */
export const openaiResponsesNative: NativeApi = {
  api: 'responses',
  request: (body, ctx, account) => ({ method: 'POST', path: '/responses', headers: openaiHeaders(account), body: { ...body, model: ctx.model } }),
  response: fromResponsesResponse,
  stream: responsesStreamTranslator,
};
