// Anthropic Messages SSE events → OpenAI chat.completion.chunk objects, one event at a time.
import type { ChatChunk, ChatRequest, ChunkChoice, FinishReason } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { SseEvent, StreamTranslator, TranslationContext } from '../types.ts';
import type { AnthropicUsage } from './wire.ts';
import { fromAnthropicStreamError } from './error.ts';
import { JSON_RESPONSE_TOOL } from './request.ts';
import { finishReason, toUsage } from './response.ts';

/**
 * What a content block index turned out to be; tool calls get their own OpenAI index, counted separately. A thinking
 * block's text streams as `reasoning_content` and the whole block (signature included) follows when it stops.
 */
type Block =
  | { kind: 'text' }
  | { kind: 'tool'; toolIndex: number }
  | { kind: 'json'; emitted: boolean }
  | { kind: 'ignored' }
  | { kind: 'thinking'; thinking: string; signature: string }
  | { kind: 'redacted'; data: string };

interface Event {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; text?: string; thinking?: string; signature?: string; data?: string };
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
}

function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): void {
  // message_delta usage is cumulative and may omit or null fields it does not update.
  for (const [k, v] of Object.entries(from ?? {})) if (typeof v === 'number') (into as Record<string, number>)[k] = v;
}

export function anthropicStreamTranslator(req: ChatRequest, ctx: TranslationContext): StreamTranslator {
  const wantsUsage = req.stream_options?.include_usage === true;
  // In JSON mode the content must stay valid JSON, so stray text blocks are not forwarded.
  const jsonMode = req.response_format?.type === 'json_object' || req.response_format?.type === 'json_schema';
  const blocks = new Map<number, Block>();
  const usage: AnthropicUsage = {};
  let id = ctx.id;
  let model = ctx.model;
  let toolCount = 0;
  let finished = false;

  const chunk = (delta: ChunkChoice['delta'], finish: FinishReason | null = null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  function startBlock(ev: Event): ChatChunk[] {
    const cb = ev.content_block ?? {};
    const index = ev.index ?? 0;
    if (cb.type === 'text') {
      blocks.set(index, jsonMode ? { kind: 'ignored' } : { kind: 'text' });
      return cb.text && !jsonMode ? [chunk({ content: cb.text })] : [];
    }
    if (cb.type === 'tool_use' && cb.name === JSON_RESPONSE_TOOL) {
      blocks.set(index, { kind: 'json', emitted: false });
      return [];
    }
    if (cb.type === 'tool_use') {
      const toolIndex = toolCount++;
      blocks.set(index, { kind: 'tool', toolIndex });
      return [chunk({ tool_calls: [{ index: toolIndex, id: cb.id, type: 'function', function: { name: cb.name, arguments: '' } }] })];
    }
    if (cb.type === 'thinking') {
      blocks.set(index, { kind: 'thinking', thinking: cb.thinking ?? '', signature: cb.signature ?? '' });
      return cb.thinking ? [chunk({ reasoning_content: cb.thinking })] : [];
    }
    if (cb.type === 'redacted_thinking') {
      blocks.set(index, { kind: 'redacted', data: cb.data ?? '' });
      return [];
    }
    blocks.set(index, { kind: 'ignored' }); // server tool blocks
    return [];
  }

  function blockDelta(ev: Event): ChatChunk[] {
    const block = blocks.get(ev.index ?? 0);
    const d = ev.delta ?? {};
    if (!block) return [];
    if (block.kind === 'text' && d.type === 'text_delta' && d.text) return [chunk({ content: d.text })];
    if (block.kind === 'thinking') {
      if (d.type === 'thinking_delta' && d.thinking) {
        block.thinking += d.thinking;
        return [chunk({ reasoning_content: d.thinking })];
      }
      if (d.type === 'signature_delta' && d.signature) block.signature += d.signature;
      return [];
    }
    if (d.type !== 'input_json_delta' || !d.partial_json) return [];
    if (block.kind === 'tool') return [chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: d.partial_json } }] })];
    if (block.kind === 'json') {
      block.emitted = true;
      return [chunk({ content: d.partial_json })];
    }
    return [];
  }

  function stopBlock(ev: Event): ChatChunk[] {
    const block = blocks.get(ev.index ?? 0);
    // A JSON-response call with empty input still has to give the client a JSON document.
    if (block?.kind === 'json' && !block.emitted) {
      block.emitted = true;
      return [chunk({ content: '{}' })];
    }
    if (block?.kind === 'thinking') return [chunk({ thinking_blocks: [{ type: 'thinking', thinking: block.thinking, signature: block.signature }] })];
    if (block?.kind === 'redacted') return [chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: block.data }] })];
    return [];
  }

  return {
    get finished() {
      return finished;
    },
    push(sse: SseEvent): ChatChunk[] {
      if (!sse.data.trim()) return [];
      let ev: Event;
      try {
        ev = JSON.parse(sse.data);
      } catch {
        throw new UpstreamError('protocol', 'anthropic sent a malformed stream event');
      }
      switch (ev.type ?? sse.event) {
        case 'message_start':
          id = ev.message?.id ?? id;
          model = ev.message?.model ?? model;
          mergeUsage(usage, ev.message?.usage);
          return [chunk({ role: 'assistant', content: '' })];
        case 'content_block_start':
          return startBlock(ev);
        case 'content_block_delta':
          return blockDelta(ev);
        case 'content_block_stop':
          return stopBlock(ev);
        case 'message_delta': {
          mergeUsage(usage, ev.usage);
          const usedClientTool = [...blocks.values()].some((b) => b.kind === 'tool');
          return [chunk({}, finishReason(ev.delta?.stop_reason, usedClientTool) ?? 'stop')];
        }
        case 'message_stop': {
          finished = true;
          const last: ChatChunk = { id, object: 'chat.completion.chunk', created: ctx.created, model, choices: [], usage: toUsage(usage) };
          // Usage the client did not ask for is still handed to the gateway (to record), marked so it is not forwarded.
          return [wantsUsage ? last : { ...last, flowrouter_internal_usage: true }];
        }
        case 'error':
          throw fromAnthropicStreamError(ev);
        default:
          return []; // ping, and event types added after this was written
      }
    },
    end() {
      return [];
    },
  };
}
