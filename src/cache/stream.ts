// Converting between a chat stream and a full response: assembling a finished stream, replaying a stored answer as one.
import type { ChatChunk, ChatResponse, ChatChoice, ToolCall, Usage } from '../core/openai.ts';

/** Builds the full response a finished stream amounts to (content, tool calls, finish reasons, usage). */
export function assembleChunks(chunks: readonly ChatChunk[]): ChatResponse | undefined {
  const first = chunks.find((c) => !c.flowrouter_internal_usage) ?? chunks[0];
  if (!first) return undefined;
  const choices = new Map<number, ChatChoice & { calls: Map<number, ToolCall> }>();
  let usage: Usage | undefined;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      let choice = choices.get(c.index);
      if (!choice) {
        choice = { index: c.index, message: { role: 'assistant', content: null }, finish_reason: null, calls: new Map() };
        choices.set(c.index, choice);
      }
      const d = c.delta ?? {};
      const m = choice.message;
      if (typeof d.content === 'string') m.content = (m.content ?? '') + d.content;
      if (typeof d.refusal === 'string') m.refusal = (m.refusal ?? '') + d.refusal;
      // Reasoning and provider signatures are part of the answer: a client sends them back on its next turn.
      if (typeof d.reasoning_content === 'string') m.reasoning_content = (m.reasoning_content ?? '') + d.reasoning_content;
      if (d.thinking_blocks?.length) m.thinking_blocks = [...(m.thinking_blocks ?? []), ...d.thinking_blocks];
      if (d.extra_content) m.extra_content = d.extra_content;
      for (const t of d.tool_calls ?? []) {
        const call: ToolCall = choice.calls.get(t.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
        if (t.id) call.id = t.id;
        if (t.function?.name) call.function.name += t.function.name;
        if (t.function?.arguments) call.function.arguments += t.function.arguments;
        if (t.extra_content) call.extra_content = t.extra_content;
        choice.calls.set(t.index, call);
      }
      if (c.finish_reason) choice.finish_reason = c.finish_reason;
    }
  }
  const out: ChatResponse = {
    id: first.id, object: 'chat.completion', created: first.created, model: first.model,
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map(({ calls, ...choice }) => (
      calls.size > 0 ? { ...choice, message: { ...choice.message, tool_calls: [...calls.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]) } } : choice)),
    system_fingerprint: first.system_fingerprint ?? null,
  };
  if (usage) out.usage = usage;
  return out;
}

/**
 * Replays a stored answer as the chunks a provider would have streamed: a role chunk, the content, tool calls,
 * the finish reason, then usage when the client asked for it (or flagged internal so it is recorded but not sent).
 */
export async function* replayAsChunks(res: ChatResponse, includeUsage: boolean): AsyncGenerator<ChatChunk> {
  const base = { id: res.id, object: 'chat.completion.chunk' as const, created: res.created, model: res.model, system_fingerprint: res.system_fingerprint ?? null };
  for (const choice of res.choices) {
    const m = choice.message;
    yield { ...base, choices: [{ index: choice.index, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    if (m.reasoning_content || m.thinking_blocks?.length) {
      const delta = { ...(m.reasoning_content ? { reasoning_content: m.reasoning_content } : {}), ...(m.thinking_blocks?.length ? { thinking_blocks: m.thinking_blocks } : {}) };
      yield { ...base, choices: [{ index: choice.index, delta, finish_reason: null }] };
    }
    if (m.content || m.extra_content) {
      yield { ...base, choices: [{ index: choice.index, delta: { ...(m.content ? { content: m.content } : {}), ...(m.extra_content ? { extra_content: m.extra_content } : {}) }, finish_reason: null }] };
    }
    if (m.tool_calls?.length) {
      const tool_calls = m.tool_calls.map((t, i) => ({ index: i, id: t.id, type: 'function' as const, function: { name: t.function.name, arguments: t.function.arguments }, ...(t.extra_content ? { extra_content: t.extra_content } : {}) }));
      yield { ...base, choices: [{ index: choice.index, delta: { tool_calls }, finish_reason: null }] };
    }
    yield { ...base, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }] };
  }
  if (res.usage) yield { ...base, choices: [], usage: res.usage, ...(includeUsage ? {} : { flowrouter_internal_usage: true }) };
}
