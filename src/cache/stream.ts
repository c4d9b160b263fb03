// Replaying a stored answer as the stream a provider would have sent.
import type { ChatChunk, ChatResponse } from '../core/openai.ts';

/**
 * Replays a stored answer as the chunks a provider would have streamed: a role chunk, the content, tool calls,
 * the finish reason, then usage when the client asked for it (or flagged internal so it is recorded but not sent).
 */
export async function* replayAsChunks(res: ChatResponse, includeUsage: boolean): AsyncGenerator<ChatChunk> {
  const base = {
    id: res.id,
    object: 'chat.completion.chunk' as const,
    created: res.created,
    model: res.model,
    system_fingerprint: res.system_fingerprint ?? null,
  };
  for (const choice of res.choices) {
    const m = choice.message;
    yield { ...base, choices: [{ index: choice.index, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    if (m.reasoning_content || m.thinking_blocks?.length) {
      const delta = {
        ...(m.reasoning_content ? { reasoning_content: m.reasoning_content } : {}),
        ...(m.thinking_blocks?.length ? { thinking_blocks: m.thinking_blocks } : {}),
      };
      yield { ...base, choices: [{ index: choice.index, delta, finish_reason: null }] };
    }
    if (m.content || m.extra_content) {
      yield {
        ...base,
        choices: [
          {
            index: choice.index,
            delta: { ...(m.content ? { content: m.content } : {}), ...(m.extra_content ? { extra_content: m.extra_content } : {}) },
            finish_reason: null,
          },
        ],
      };
    }
    if (m.tool_calls?.length) {
      const tool_calls = m.tool_calls.map((t, i) => ({
        index: i,
        id: t.id,
        type: 'function' as const,
        function: { name: t.function.name, arguments: t.function.arguments },
        ...(t.extra_content ? { extra_content: t.extra_content } : {}),
      }));
      yield { ...base, choices: [{ index: choice.index, delta: { tool_calls }, finish_reason: null }] };
    }
    yield { ...base, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }] };
  }
  if (res.usage) yield { ...base, choices: [], usage: res.usage, ...(includeUsage ? {} : { flowrouter_internal_usage: true }) };
}
