// Anthropic Messages API response → OpenAI chat completion, plus the stop-reason and usage mappings the stream shares.
import type { ChatResponse, FinishReason, ThinkingBlock, ToolCall, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { TranslationContext } from '../types.ts';
import type { AnthropicResponse, AnthropicUsage } from './wire.ts';
import { fromAnthropicStreamError } from './error.ts';
import { JSON_RESPONSE_TOOL } from './request.ts';

/** `usedClientTool`: whether the model called one of the client's tools (not only the JSON-response tool). */
export function finishReason(stop: string | null | undefined, usedClientTool: boolean): FinishReason | null {
  switch (stop) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return usedClientTool ? 'tool_calls' : 'stop';
    case 'refusal':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      return 'stop';
  }
}

/**
 * Anthropic's `input_tokens` are only the uncached ones; OpenAI's `prompt_tokens` count cache reads and writes too,
 * which the details then break out.
 */
export function toUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + cacheRead + cacheWrite;
  const completion = u.output_tokens ?? 0;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
  const thinking = u.output_tokens_details?.thinking_tokens;
  if (thinking) usage.completion_tokens_details = { reasoning_tokens: thinking };
  return usage;
}

/** A thinking or redacted_thinking block as the internal shape keeps it, or null for any other block. */
export function thinkingBlock(block: { type: string }): ThinkingBlock | null {
  const b = block as { type: string; thinking?: unknown; signature?: unknown; data?: unknown };
  if (b.type === 'thinking') return { type: 'thinking', thinking: String(b.thinking ?? ''), signature: String(b.signature ?? '') };
  if (b.type === 'redacted_thinking') return { type: 'redacted_thinking', data: String(b.data ?? '') };
  return null;
}

/**
 * Text blocks joined into `content`, `tool_use` blocks as tool calls, thinking blocks kept verbatim in
 * `thinking_blocks` (their text also in `reasoning_content`). When the request asked for JSON (the JSON-response tool
 * was called), its input is the content and text blocks are dropped so the content stays valid JSON.
 */
export function fromAnthropicResponse(body: unknown, ctx: TranslationContext): ChatResponse {
  const res = body as AnthropicResponse;
  if (res && typeof res === 'object' && (res as { type?: string }).type === 'error') throw fromAnthropicStreamError(res);
  if (!res || typeof res !== 'object' || !Array.isArray(res.content)) throw new UpstreamError('protocol', 'anthropic returned a response without content');
  let text = '';
  let json: string | null = null;
  const toolCalls: ToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  for (const block of res.content) {
    const kept = thinkingBlock(block);
    if (kept) thinking.push(kept);
    else if (block.type === 'text') text += (block as { text: string }).text;
    else if (block.type === 'tool_use') {
      const use = block as { id: string; name: string; input: unknown };
      if (use.name === JSON_RESPONSE_TOOL) json = JSON.stringify(use.input ?? {});
      else toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    }
  }
  const content = json ?? text;
  const reasoning = thinking.map((b) => (b.type === 'thinking' ? b.thinking : '')).join('');
  return {
    id: res.id ?? ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: res.model ?? ctx.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: content === '' && toolCalls.length ? null : content,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          ...(reasoning ? { reasoning_content: reasoning } : {}),
          ...(thinking.length ? { thinking_blocks: thinking } : {}),
        },
        finish_reason: finishReason(res.stop_reason, toolCalls.length > 0) ?? 'stop',
      },
    ],
    usage: toUsage(res.usage ?? {}),
  };
}
