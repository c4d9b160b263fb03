// The internal chat answer → an Anthropic Message: thinking first, then text, then tool_use, with Anthropic's usage.
import { promptParts, type AssistantMessage, type ChatResponse, type FinishReason, type Usage } from '../../core/openai.ts';
import { isEmptyState, packState, type CarriedState } from '../carrier.ts';
import type { AnthropicMessage, MessageUsage, OutputBlock, StopReason } from './wire.ts';

export function stopReasonOf(finish: FinishReason | null | undefined): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Anthropic counts uncached input apart from cache reads and writes; the internal usage (OpenAI's) includes them. */
export function toAnthropicUsage(usage: Usage | null | undefined): MessageUsage {
  if (!usage) return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: null, cache_read_input_tokens: null };
  const { uncached, cacheRead, cacheWrite } = promptParts(usage);
  return { input_tokens: uncached, output_tokens: usage.completion_tokens, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead };
}

/** Anthropic message ids start with `msg_`; an id from another provider gets the prefix. */
export function messageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id.replace(/^chatcmpl-/, '')}`;
}

/**
 * Provider state an Anthropic client cannot otherwise hold (Gemini thought signatures) rides in an extra thinking
 * block's signature, which clients send back verbatim; the request translation unpacks it.
 */
export function carrierBlock(state: CarriedState): OutputBlock | null {
  return isEmptyState(state) ? null : { type: 'thinking', thinking: '', signature: packState(state) };
}

/** Tool-call arguments as the object Anthropic's `input` is; text that is no JSON object is kept under `_raw_arguments`. */
export function toolInput(args: string): unknown {
  if (!args.trim()) return {};
  try {
    const v: unknown = JSON.parse(args);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* kept raw below */
  }
  return { _raw_arguments: args };
}

function contentBlocks(m: AssistantMessage, showThinking: boolean): OutputBlock[] {
  const out: OutputBlock[] = [];
  if (showThinking) {
    if (m.thinking_blocks?.length) out.push(...m.thinking_blocks);
    else if (m.reasoning_content) out.push({ type: 'thinking', thinking: m.reasoning_content, signature: '' });
  }
  const text = (m.content ?? '') + (m.refusal ?? '');
  if (text) out.push({ type: 'text', text, citations: null });
  const google_calls: Record<string, string> = {};
  for (const c of m.tool_calls ?? []) if (c.extra_content?.google?.thought_signature) google_calls[c.id] = c.extra_content.google.thought_signature;
  const carrier = carrierBlock({
    google_calls,
    ...(m.extra_content?.google?.thought_signature ? { google_text: m.extra_content.google.thought_signature } : {}),
  });
  if (carrier) out.push(carrier);
  for (const c of m.tool_calls ?? []) out.push({ type: 'tool_use', id: c.id, name: c.function.name, input: toolInput(c.function.arguments) });
  return out;
}

/**
 * The Message for a chat answer (its first choice). `showThinking` (the request enabled thinking) decides whether
 * reasoning appears: a client that did not ask reads `content[0]` as the text, as it would from Anthropic.
 */
export function chatToAnthropicMessage(res: ChatResponse, opts: { showThinking: boolean }): AnthropicMessage {
  const choice = res.choices[0];
  return {
    id: messageId(res.id),
    type: 'message',
    role: 'assistant',
    model: res.model,
    content: choice ? contentBlocks(choice.message, opts.showThinking) : [],
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(res.usage),
  };
}
