// Token counts before a request is sent (for TPM and budget reservations) and after it ended without reported usage.
import { countTokens } from 'gpt-tokenizer';
import { contentText, type ChatRequest, type ChatResponse, type Usage } from '../core/openai.ts';

/** Reserved for the answer when the client sets no max_tokens: budgets must hold even for long answers. */
export const DEFAULT_OUTPUT_RESERVE_TOKENS = 1024;
/** Per-message framing tokens in OpenAI's chat format. */
const PER_MESSAGE_TOKENS = 4;

export function promptTokens(req: ChatRequest): number {
  let n = 3;
  for (const m of req.messages) {
    n += PER_MESSAGE_TOKENS + countTokens(contentText(m.content));
    for (const call of m.tool_calls ?? []) n += countTokens(call.function.name) + countTokens(call.function.arguments);
  }
  if (req.tools?.length) n += countTokens(JSON.stringify(req.tools));
  return n;
}

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
