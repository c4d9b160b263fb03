// Anthropic Messages API response → OpenAI chat completion, plus the stop-reason and usage mappings the stream shares.
import type { ChatResponse, FinishReason, ToolCall, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { TranslationContext } from '../types.ts';
import type { AnthropicResponse, AnthropicUsage } from './wire.ts';
import { fromAnthropicStreamError } from './error.ts';
import { JSON_RESPONSE_TOOL } from './request.ts';

/** `usedClientTool`: whether the model called one of the client's tools (not only the JSON-response tool). */
export function finishReason(stop: string | null | undefined, usedClientTool: boolean): FinishReason | null {
  switch (stop) {
    case 'end_turn': case 'stop_sequence': case 'pause_turn': return 'stop';
    case 'max_tokens': case 'model_context_window_exceeded': return 'length';
    case 'tool_use': return usedClientTool ? 'tool_calls' : 'stop';
    case 'refusal': return 'content_filter';
    case null: case undefined: return null;
    default: return 'stop';
  }
}

/** Cache reads and writes are prompt tokens too (Anthropic counts them apart from `input_tokens`). */
export function toUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + cacheRead + (u.cache_creation_input_tokens ?? 0);
  const completion = u.output_tokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cacheRead } };
}

/**
 * Text blocks joined into `content`, `tool_use` blocks as tool calls, thinking blocks left out. When the request asked
 * for JSON (the JSON-response tool was called), its input is the content and text blocks are dropped so the content
 * stays valid JSON.
 */
export function fromAnthropicResponse(body: unknown, ctx: TranslationContext): ChatResponse {
  const res = body as AnthropicResponse;
  if (res && typeof res === 'object' && (res as { type?: string }).type === 'error') throw fromAnthropicStreamError(res);
  if (!res || typeof res !== 'object' || !Array.isArray(res.content)) throw new UpstreamError('protocol', 'anthropic returned a response without content');
  let text = '';
  let json: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of res.content) {
    if (block.type === 'text') text += (block as { text: string }).text;
    else if (block.type === 'tool_use') {
      const use = block as { id: string; name: string; input: unknown };
      if (use.name === JSON_RESPONSE_TOOL) json = JSON.stringify(use.input ?? {});
      else toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    }
  }
  const content = json ?? text;
  return {
    id: res.id ?? ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: res.model ?? ctx.model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: content === '' && toolCalls.length ? null : content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
      finish_reason: finishReason(res.stop_reason, toolCalls.length > 0) ?? 'stop',
    }],
    usage: toUsage(res.usage ?? {}),
  };
}
