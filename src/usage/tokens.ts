// Token counts when a provider gives none: the prompt through the router's shared counter, the answer with gpt-tokenizer.
import { countTokens } from '../core/tokens.ts';
import type { ChatResponse } from '../core/openai.ts';

/** The same per-request count the router's rules and tenancy's limits use (cached on the request object). */
export { promptTokens as estimatePromptTokens } from '../router/index.ts';

export function estimateCompletionTokens(res: ChatResponse): number {
  let n = 0;
  for (const c of res.choices) {
    n += countTokens(c.message.content ?? '');
    for (const t of c.message.tool_calls ?? []) n += countTokens(t.function.name) + countTokens(t.function.arguments);
  }
  return n;
}
