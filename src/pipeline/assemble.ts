// Builds the answer a stream amounts to, one chunk at a time: the one buffer on the request path.
import type { ChatChoice, ChatChunk, ChatResponse, CompletionsResponse, ToolCall, Usage } from '../core/openai.ts';

/** Accumulates chunks of one kind of stream into its final answer. */
export interface Assembler<Chunk, Response> {
  push(chunk: Chunk): void;
  /** The answer so far (complete once the stream has ended normally); undefined before the first chunk. */
  result(): Response | undefined;
}

interface OpenChoice {
  index: number;
  content: string[];
  refusal: string[];
  reasoning: string[];
  thinking: NonNullable<ChatChoice['message']['thinking_blocks']>;
  extra?: ChatChoice['message']['extra_content'];
  calls: Map<number, ToolCall>;
  finish: ChatChoice['finish_reason'];
}

/** Chat chunks → the chat.completion they amount to (content, refusals, tool calls, finish reasons, usage). */
export class ChatAssembler implements Assembler<ChatChunk, ChatResponse> {
  private first: ChatChunk | undefined;
  private readonly choices = new Map<number, OpenChoice>();
  private usage: Usage | undefined;

  push(chunk: ChatChunk): void {
    if (!this.first || (this.first.flowrouter_internal_usage && !chunk.flowrouter_internal_usage)) this.first = chunk;
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of chunk.choices) {
      let choice = this.choices.get(c.index);
      if (!choice) {
        choice = { index: c.index, content: [], refusal: [], reasoning: [], thinking: [], calls: new Map(), finish: null };
        this.choices.set(c.index, choice);
      }
      const d = c.delta ?? {};
      if (typeof d.content === 'string') choice.content.push(d.content);
      if (typeof d.refusal === 'string') choice.refusal.push(d.refusal);
      // Reasoning and provider signatures are part of the answer: a client sends them back on its next turn.
      if (typeof d.reasoning_content === 'string') choice.reasoning.push(d.reasoning_content);
      if (d.thinking_blocks?.length) choice.thinking.push(...d.thinking_blocks);
      if (d.extra_content) choice.extra = d.extra_content;
      for (const t of d.tool_calls ?? []) {
        const call: ToolCall = choice.calls.get(t.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
        if (t.id) call.id = t.id;
        if (t.function?.name) call.function.name += t.function.name;
        if (t.function?.arguments) call.function.arguments += t.function.arguments;
        if (t.extra_content) call.extra_content = t.extra_content;
        choice.calls.set(t.index, call);
      }
      if (c.finish_reason) choice.finish = c.finish_reason;
    }
  }

  result(): ChatResponse | undefined {
    const first = this.first;
    if (!first) return undefined;
    const choices = [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((c): ChatChoice => {
        const message: ChatChoice['message'] = { role: 'assistant', content: c.content.length ? c.content.join('') : null };
        if (c.refusal.length) message.refusal = c.refusal.join('');
        if (c.reasoning.length) message.reasoning_content = c.reasoning.join('');
        if (c.thinking.length) message.thinking_blocks = c.thinking;
        if (c.extra) message.extra_content = c.extra;
        if (c.calls.size) message.tool_calls = [...c.calls.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
        return { index: c.index, message, finish_reason: c.finish };
      });
    const out: ChatResponse = {
      id: first.id,
      object: 'chat.completion',
      created: first.created,
      model: first.model,
      choices,
      system_fingerprint: first.system_fingerprint ?? null,
    };
    if (this.usage) out.usage = this.usage;
    return out;
  }
}

/** Assembles a finished list of chat chunks at once (cache replication and tests). */
export function assembleChunks(chunks: Iterable<ChatChunk>): ChatResponse | undefined {
  const a = new ChatAssembler();
  for (const c of chunks) a.push(c);
  return a.result();
}

/** Legacy completion chunks → the text_completion they amount to. */
export class CompletionsAssembler implements Assembler<CompletionsResponse, CompletionsResponse> {
  private first: CompletionsResponse | undefined;
  private readonly texts = new Map<number, { text: string[]; finish: string | null }>();
  private usage: Usage | undefined;

  push(chunk: CompletionsResponse): void {
    this.first ??= chunk;
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      const t = this.texts.get(c.index) ?? { text: [], finish: null };
      if (typeof c.text === 'string') t.text.push(c.text);
      if (c.finish_reason) t.finish = c.finish_reason;
      this.texts.set(c.index, t);
    }
  }

  result(): CompletionsResponse | undefined {
    const first = this.first;
    if (!first) return undefined;
    const choices = [...this.texts.entries()].sort((a, b) => a[0] - b[0]).map(([index, t]) => ({ index, text: t.text.join(''), finish_reason: t.finish }));
    return { id: first.id, object: 'text_completion', created: first.created, model: first.model, choices, ...(this.usage ? { usage: this.usage } : {}) };
  }
}
