// Token counts when a provider gives none: the prompt through the router's shared counter, the answer with gpt-tokenizer.
import { countTokens, TokenBudget } from '../core/tokens.ts';
import type { ChatResponse } from '../core/openai.ts';

/** The same per-request count the router's rules and tenancy's limits use (cached on the request object). */
export { promptTokens as estimatePromptTokens } from '../router/index.ts';

/** The answer's tokens, all choices and tool calls under one budget: a huge answer costs the loop milliseconds. */
export function estimateCompletionTokens(res: ChatResponse): number {
  const budget = new TokenBudget();
  let n = 0;
  for (const c of res.choices) {
    n += countTokens(c.message.content ?? '', budget);
    for (const t of c.message.tool_calls ?? []) n += countTokens(t.function.name, budget) + countTokens(t.function.arguments, budget);
  }
  return n;
}
