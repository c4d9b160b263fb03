// Token counts when a provider gives none: the prompt from the request's own count, the answer with gpt-tokenizer.
import { countTokens, TokenBudget } from '../core/tokens.ts';
import type { ChatResponse, Usage } from '../core/openai.ts';
import type { AnyResponse, RequestEnd } from '../pipeline/index.ts';

function chatAnswerTokens(res: ChatResponse, budget: TokenBudget): number {
  let n = 0;
  for (const c of res.choices) {
    n += countTokens(c.message.content ?? '', budget);
    for (const t of c.message.tool_calls ?? []) n += countTokens(t.function.name, budget) + countTokens(t.function.arguments, budget);
  }
  return n;
}

/**
 * Tokens of an answer counted from its text (chat content and tool calls, completion text; embeddings have none), all
 * under one budget: a huge answer costs the event loop milliseconds.
 */
export function estimateCompletionTokens(res: AnyResponse): number {
  const budget = new TokenBudget();
  if (res.object === 'chat.completion') return chatAnswerTokens(res, budget);
  if (res.object === 'text_completion') return res.choices.reduce((n, c) => n + countTokens(typeof c.text === 'string' ? c.text : '', budget), 0);
  return 0;
}

/** Every listener of a request's end (usage, tenancy, peer limits) asks; the answer is counted once. */
const estimated = new WeakMap<RequestEnd, Usage>();

/** The usage of an ended request: as the upstream reported it, else estimated from the prompt's count and the answer's text. */
export function usageOf(end: RequestEnd, promptTokens: () => number): { usage: Usage; source: 'provider' | 'estimated' } {
  if (end.usage) return { usage: end.usage, source: 'provider' };
  let usage = estimated.get(end);
  if (!usage) {
    const prompt = promptTokens();
    const completion = end.response ? estimateCompletionTokens(end.response) : 0;
    usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    estimated.set(end, usage);
  }
  return { usage, source: 'estimated' };
}
