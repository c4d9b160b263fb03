// The internal chat answer → a Response object: reasoning, message and function_call output items, with usage.
import { promptParts, type AssistantMessage, type ChatResponse, type FinishReason, type Usage } from '../../core/openai.ts';
import { isEmptyState, packState, type CarriedState } from '../carrier.ts';
import type { OutputItem, OutputRefusal, OutputText, ResponseObject, ResponsesRequest, ResponseStatus, ResponseUsage } from './wire.ts';

/** What a Response needs besides the answer: its id and creation time (the route's), and the previous response. */
export interface ResponseContext {
  /** `resp_…`; item ids are made from it. */
  id: string;
  /** Seconds since the epoch. */
  createdAt: number;
  previousResponseId?: string | null;
}

export function toResponseUsage(usage: Usage | null | undefined): ResponseUsage | null {
  if (!usage) return null;
  const { cacheRead, cacheWrite } = promptParts(usage);
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/** length and content_filter end a response as incomplete, with the reason; anything else completes it. */
export function statusOf(finish: FinishReason | null | undefined): Pick<ResponseObject, 'status' | 'incomplete_details'> {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** Item ids, stable for a response: `rs_…`, `msg_…`, `fc_…` with the response id's tail and the item's position. */
export function itemId(ctx: ResponseContext, prefix: 'rs' | 'msg' | 'fc', n: number): string {
  return `${prefix}_${ctx.id.replace(/^resp_/, '')}_${n}`;
}

/** The Response fields that echo the request, shared by the JSON answer and every stream snapshot. */
export function responseShell(body: ResponsesRequest, ctx: ResponseContext, model: string): ResponseObject {
  return {
    id: ctx.id,
    object: 'response',
    created_at: ctx.createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: ctx.previousResponseId ?? body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

/** Provider state of an answer that Responses clients can only carry in a reasoning item's encrypted_content. */
export function carriedStateOf(m: AssistantMessage): CarriedState {
  const state: CarriedState = {};
  if (m.thinking_blocks?.length) state.thinking_blocks = m.thinking_blocks;
  const calls: Record<string, string> = {};
  for (const c of m.tool_calls ?? []) if (c.extra_content?.google?.thought_signature) calls[c.id] = c.extra_content.google.thought_signature;
  if (Object.keys(calls).length) state.google_calls = calls;
  if (m.extra_content?.google?.thought_signature) state.google_text = m.extra_content.google.thought_signature;
  return state;
}

function outputItems(m: AssistantMessage, ctx: ResponseContext, itemStatus: 'completed' | 'incomplete'): OutputItem[] {
  const out: OutputItem[] = [];
  const state = carriedStateOf(m);
  if (m.reasoning_content || !isEmptyState(state)) {
    out.push({
      type: 'reasoning',
      id: itemId(ctx, 'rs', 0),
      summary: m.reasoning_content ? [{ type: 'summary_text', text: m.reasoning_content }] : [],
      ...(isEmptyState(state) ? {} : { encrypted_content: packState(state) }),
    });
  }
  const content: (OutputText | OutputRefusal)[] = [];
  if (m.content) content.push({ type: 'output_text', text: m.content, annotations: [], logprobs: [] });
  if (m.refusal) content.push({ type: 'refusal', refusal: m.refusal });
  if (content.length) out.push({ type: 'message', id: itemId(ctx, 'msg', 0), role: 'assistant', status: itemStatus, content });
  (m.tool_calls ?? []).forEach((c, i) => {
    out.push({ type: 'function_call', id: itemId(ctx, 'fc', i), call_id: c.id, name: c.function.name, arguments: c.function.arguments, status: 'completed' });
  });
  return out;
}

/** The Response for a chat answer (its first choice). */
export function chatToResponse(res: ChatResponse, body: ResponsesRequest, ctx: ResponseContext): ResponseObject {
  const choice = res.choices[0];
  const status = statusOf(choice?.finish_reason);
  return {
    ...responseShell(body, ctx, res.model),
    ...status,
    output: choice ? outputItems(choice.message, ctx, status.status === 'completed' ? 'completed' : 'incomplete') : [],
    usage: toResponseUsage(res.usage),
  };
}

/** A failed response (for `response.failed`, or to store a failure). */
export function failedResponse(shell: ResponseObject, code: string, message: string): ResponseObject {
  return { ...shell, status: 'failed' satisfies ResponseStatus, error: { code, message } };
}
