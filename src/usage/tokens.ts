// Token counts when a provider gives none: the prompt from the request's own count, the answer with gpt-tokenizer.
import { countTokens } from '../core/tokens.ts';
import type { ChatResponse, Usage } from '../core/openai.ts';
import type { AnyResponse, RequestEnd } from '../pipeline/index.ts';

function chatAnswerTokens(res: ChatResponse): number {
  let n = 0;
  for (const c of res.choices) {
    n += countTokens(c.message.content ?? '');
    for (const t of c.message.tool_calls ?? []) n += countTokens(t.function.name) + countTokens(t.function.arguments);
  }
  return n;
}

/** Tokens of an answer counted from its text: chat content and tool calls, completion text; embeddings have none. */
export function estimateCompletionTokens(res: AnyResponse): number {
  if (res.object === 'chat.completion') return chatAnswerTokens(res);
  if (res.object === 'text_completion') return res.choices.reduce((n, c) => n + countTokens(typeof c.text === 'string' ? c.text : ''), 0);
  return 0;
}

/** The usage of an ended request: as the upstream reported it, else estimated from the prompt's count and the answer's text. */
export function usageOf(end: RequestEnd, promptTokens: () => number): { usage: Usage; source: 'provider' | 'estimated' } {
  if (end.usage) return { usage: end.usage, source: 'provider' };
  const prompt = promptTokens();
  const completion = end.response ? estimateCompletionTokens(end.response) : 0;
  return { usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }, source: 'estimated' };
}
