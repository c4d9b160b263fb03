// Token counts before a request is sent (for TPM and budget reservations) and after it ended without reported usage.
import { countTokens } from '../core/tokens.ts';
import type { ChatRequest, ChatResponse, Usage } from '../core/openai.ts';

/** One tokenizer pass per request, shared with the router's rules and limits. */
export { promptTokens } from '../router/index.ts';

/** Reserved for the answer when the client sets no max_tokens: budgets must hold even for long answers. */
export const DEFAULT_OUTPUT_RESERVE_TOKENS = 1024;
/** The most tokens the answer may use: what the client allows, else the default reserve. */
export function outputAllowance(req: ChatRequest): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens;
}

/** Usage as reported, else counted from the answer's text. */
export function usageOf(reported: Usage | null | undefined, prompt: number, answerText: string): Pick<Usage, 'prompt_tokens' | 'completion_tokens' | 'prompt_tokens_details'> & { total_tokens: number } {
  if (reported) return reported;
  const completion = answerText ? countTokens(answerText) : 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function answerTextOf(res: ChatResponse): string {
  return res.choices.map((c) => (c.message.content ?? '') + (c.message.tool_calls ?? []).map((t) => t.function.arguments).join('')).join('');
}
