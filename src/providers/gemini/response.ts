// Gemini generateContent response → OpenAI chat completion; the part and finish mappings are shared with the stream.
import type { ChatChoice, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { TranslationContext } from '../types.ts';
import { fromGeminiInBandError } from './error.ts';
import type { GeminiPart, GeminiResponse, GeminiUsageMetadata } from './wire.ts';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/** Gemini's finish reason in OpenAI terms; a turn that called a function finishes with `tool_calls` whatever Gemini says. */
export function mapFinishReason(reason: string | undefined, calledTool: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && FILTERED.has(reason)) return 'content_filter';
  return calledTool ? 'tool_calls' : 'stop';
}

/** Tool call ids are made from the response id so they are unique across a conversation yet reproducible. */
export function toolCallId(ctx: TranslationContext, n: number): string {
  return `call_${ctx.id}_${n}`;
}

/** The answer text of some parts; thought summaries are reasoning, not answer. */
export function answerText(parts: GeminiPart[]): string {
  let text = '';
  for (const p of parts) if (typeof p.text === 'string' && p.thought !== true) text += p.text;
  return text;
}

/** Reasoning text: the thought summaries Gemini returns when asked to include thoughts. */
export function thoughtText(parts: GeminiPart[]): string {
  let text = '';
  for (const p of parts) if (typeof p.text === 'string' && p.thought === true) text += p.text;
  return text;
}

/** The signature Gemini put on a non-call part (the last part of an answer without calls); optional to send back. */
export function textSignature(parts: GeminiPart[]): string | undefined {
  return parts.findLast((p) => p.thoughtSignature && !p.functionCall)?.thoughtSignature;
}

/** Function calls with the thought signature each carries (Gemini 3 wants it back with the call). */
export function functionCalls(parts: GeminiPart[]): (NonNullable<GeminiPart['functionCall']> & { signature?: string })[] {
  return parts.flatMap((p) => (p.functionCall ? [{ ...p.functionCall, ...(p.thoughtSignature ? { signature: p.thoughtSignature } : {}) }] : []));
}

/** A function call as an OpenAI tool call; its signature rides in Google's `extra_content` convention. */
export function toToolCall(fc: ReturnType<typeof functionCalls>[number], id: string): ToolCall {
  return {
    id,
    type: 'function',
    function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
    ...(fc.signature ? { extra_content: { google: { thought_signature: fc.signature } } } : {}),
  };
}

export function usageFromGemini(u: GeminiUsageMetadata): Usage {
  const prompt = u.promptTokenCount ?? 0;
  const thoughts = u.thoughtsTokenCount ?? 0;
  const completion = (u.candidatesTokenCount ?? 0) + thoughts;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.totalTokenCount ?? prompt + completion };
  // Gemini's promptTokenCount already includes the cached tokens, as OpenAI's prompt_tokens does.
  if (u.cachedContentTokenCount != null) usage.prompt_tokens_details = { cached_tokens: u.cachedContentTokenCount };
  if (thoughts) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

/** Throws for an in-band error or a body that is not a GenerateContentResponse. */
export function checkGeminiBody(body: unknown): GeminiResponse {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new UpstreamError('protocol', 'gemini returned a response that is not an object');
  const res = body as GeminiResponse;
  if (res.error) throw fromGeminiInBandError(body);
  if (res.candidates !== undefined && !Array.isArray(res.candidates)) throw new UpstreamError('protocol', 'gemini returned candidates that are not a list');
  return res;
}

/** `parallel_tool_calls: false` has no Gemini switch, so only the first call of an answer is kept. */
export function fromGeminiResponse(body: unknown, ctx: TranslationContext, req?: ChatRequest): ChatResponse {
  const res = checkGeminiBody(body);
  const choices: ChatChoice[] = [];
  let calls = 0;
  for (const [position, cand] of (res.candidates ?? []).entries()) {
    const parts = cand.content?.parts ?? [];
    const text = answerText(parts);
    const found = functionCalls(parts);
    const toolCalls = (req?.parallel_tool_calls === false ? found.slice(0, 1) : found).map((fc) => toToolCall(fc, fc.id || toolCallId(ctx, calls++)));
    const reasoning = thoughtText(parts);
    const signature = textSignature(parts);
    choices.push({
      index: cand.index ?? position,
      message: {
        role: 'assistant',
        content: text || (toolCalls.length ? null : ''),
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        ...(reasoning ? { reasoning_content: reasoning } : {}),
        ...(signature ? { extra_content: { google: { thought_signature: signature } } } : {}),
      },
      finish_reason: mapFinishReason(cand.finishReason, toolCalls.length > 0),
    });
  }
  if (choices.length === 0) {
    // A blocked prompt has no candidates at all, only the reason in promptFeedback.
    if (!res.promptFeedback?.blockReason) throw new UpstreamError('protocol', 'gemini returned a response without candidates');
    choices.push({ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' });
  }
  const out: ChatResponse = { id: ctx.id, object: 'chat.completion', created: ctx.created, model: ctx.model, choices };
  if (res.usageMetadata) out.usage = usageFromGemini(res.usageMetadata);
  return out;
}
