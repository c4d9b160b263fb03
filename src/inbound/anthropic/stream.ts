// Internal chat chunks → Anthropic's SSE event sequence, whatever provider produced them: one block open at a time,
// each started, filled and stopped once, in the order Anthropic itself uses (thinking, text, tool_use).
import type { ChatChunk, ChunkDelta, FinishReason, ThinkingBlock, ToolCallDelta, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { CarriedState } from '../carrier.ts';
import { toAnthropicError } from './errors.ts';
import { carrierBlock, messageId, stopReasonOf, toAnthropicUsage } from './response.ts';
import type { AnthropicSseEvent } from './wire.ts';

export interface AnthropicStreamOptions {
  /** The message id (`msg_…` is added when missing). */
  id: string;
  /** Named in message_start when it is sent before the first chunk names the upstream's model. */
  model: string;
  /** The request enabled thinking: reasoning is shown as thinking blocks (else only signed state rides along). */
  showThinking: boolean;
  /** input_tokens for message_start (an estimate); the final message_delta carries the real count. */
  inputTokens?: number;
}

export interface AnthropicStreamEncoder {
  /** `message_start`, once; push() sends it first by itself. */
  start(model?: string): AnthropicSseEvent[];
  /** The events one chunk produces (none for most role-only or usage-only chunks). */
  push(chunk: ChatChunk): AnthropicSseEvent[];
  /** The upstream finished: close the open block, then `message_delta` (stop_reason, usage) and `message_stop`. */
  end(): AnthropicSseEvent[];
  /** The upstream failed after the start: Anthropic's in-band `error` event; the stream ends after it. */
  error(err: unknown): AnthropicSseEvent[];
  /** A keep-alive `ping`, as Anthropic sends. */
  ping(): AnthropicSseEvent[];
  /** True once end() or error() ran. */
  readonly done: boolean;
}

type Open = { kind: 'text' } | { kind: 'thinking' } | { kind: 'tool'; call: number } | null;

const ev = (type: string, data: Record<string, unknown> = {}): AnthropicSseEvent => ({ event: type, data: { type, ...data } });

/** `event: …` and `data: …` lines of one event, as written to the wire. */
export function formatAnthropicSse(e: AnthropicSseEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export function anthropicStreamEncoder(opts: AnthropicStreamOptions): AnthropicStreamEncoder {
  let started = false;
  let done = false;
  let pinged = false;
  let index = -1;
  let open: Open = null;
  let finish: FinishReason | null = null;
  let usage: Usage | null = null;
  /** Tool-call index (OpenAI's) → whether its block was already stopped. */
  const calls = new Map<number, { stopped: boolean }>();
  const carried: Required<Pick<CarriedState, 'google_calls'>> & CarriedState = { google_calls: {} };

  function start(model = opts.model): AnthropicSseEvent[] {
    if (started) return [];
    started = true;
    return [
      ev('message_start', {
        message: {
          id: messageId(opts.id),
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: opts.inputTokens ?? 0, output_tokens: 0, cache_creation_input_tokens: null, cache_read_input_tokens: null },
        },
      }),
    ];
  }

  function close(out: AnthropicSseEvent[]): void {
    if (!open) return;
    if (open.kind === 'tool') calls.get(open.call)!.stopped = true;
    out.push(ev('content_block_stop', { index }));
    open = null;
  }

  function begin(out: AnthropicSseEvent[], block: Record<string, unknown>, next: Open): void {
    close(out);
    index++;
    out.push(ev('content_block_start', { index, content_block: block }));
    // Anthropic pings right after the first block starts; clients see the same rhythm from any provider.
    if (!pinged) {
      pinged = true;
      out.push(ev('ping'));
    }
    open = next;
  }

  function thinkingBlocks(out: AnthropicSseEvent[], blocks: ThinkingBlock[]): void {
    for (const b of blocks) {
      if (b.type === 'redacted_thinking') {
        begin(out, { type: 'redacted_thinking', data: b.data }, { kind: 'thinking' });
        close(out);
        continue;
      }
      // The text came as reasoning_content pieces into the open thinking block; only the signature is new.
      if (open?.kind !== 'thinking') {
        begin(out, { type: 'thinking', thinking: '', signature: '' }, { kind: 'thinking' });
        if (b.thinking) out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: b.thinking } }));
      }
      if (b.signature) out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } }));
      close(out);
    }
  }

  /** Signed provider state (Gemini's) goes out as its own thinking block, just before the tool_use it belongs to. */
  function flushCarried(out: AnthropicSseEvent[]): void {
    const block = carrierBlock(carried);
    if (block?.type !== 'thinking') return;
    begin(out, { type: 'thinking', thinking: '', signature: '' }, { kind: 'thinking' });
    out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } }));
    close(out);
    carried.google_calls = {};
    delete carried.google_text;
  }

  function toolDelta(out: AnthropicSseEvent[], d: ToolCallDelta): void {
    const known = calls.get(d.index);
    const args = d.function?.arguments ?? '';
    if (!known) {
      const id = d.id ?? `toolu_${opts.id}_${d.index}`;
      const signature = d.extra_content?.google?.thought_signature;
      if (signature) {
        carried.google_calls[id] = signature;
        flushCarried(out);
      }
      calls.set(d.index, { stopped: false });
      begin(out, { type: 'tool_use', id, name: d.function?.name ?? '', input: {} }, { kind: 'tool', call: d.index });
    } else if (known.stopped) {
      // Anthropic's protocol cannot reopen a block; no provider interleaves calls, so this is a broken upstream.
      throw new UpstreamError('protocol', `upstream sent arguments for tool call ${d.index} after a later block began`);
    }
    if (args) out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: args } }));
  }

  function deltaEvents(out: AnthropicSseEvent[], d: ChunkDelta): void {
    if (opts.showThinking && d.reasoning_content) {
      if (open?.kind !== 'thinking') begin(out, { type: 'thinking', thinking: '', signature: '' }, { kind: 'thinking' });
      out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: d.reasoning_content } }));
    }
    if (opts.showThinking && d.thinking_blocks?.length) thinkingBlocks(out, d.thinking_blocks);
    const text = (d.content ?? '') + (d.refusal ?? '');
    if (text) {
      if (open?.kind !== 'text') begin(out, { type: 'text', text: '' }, { kind: 'text' });
      out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }));
    }
    if (d.extra_content?.google?.thought_signature) carried.google_text = d.extra_content.google.thought_signature;
    for (const t of d.tool_calls ?? []) toolDelta(out, t);
  }

  return {
    get done() {
      return done;
    },
    start,
    push(chunk) {
      if (done) return [];
      const out = start(chunk.model || opts.model);
      if (chunk.usage) usage = chunk.usage;
      // Only the first choice is an Anthropic message; a request translated from Anthropic never asks for more.
      const choice = chunk.choices.find((c) => c.index === 0);
      if (choice) {
        deltaEvents(out, choice.delta ?? {});
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      return out;
    },
    end() {
      if (done) return [];
      const out = start();
      close(out);
      flushCarried(out);
      done = true;
      const u = toAnthropicUsage(usage);
      out.push(ev('message_delta', { delta: { stop_reason: stopReasonOf(finish), stop_sequence: null }, usage: u }));
      out.push(ev('message_stop'));
      return out;
    },
    error(err) {
      if (done) return [];
      done = true;
      return [...start(), ev('error', { error: toAnthropicError(err).body.error })];
    },
    ping() {
      return done ? [] : [ev('ping')];
    },
  };
}
