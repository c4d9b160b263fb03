// Token counts when a provider gives none: gpt-tokenizer over the prompt's and the answer's text.
import { countTokens } from '../core/tokens.ts';
import { contentText, type ChatRequest, type ChatResponse } from '../core/openai.ts';

/** OpenAI's accounting adds a few tokens per message for role and separators. */
const PER_MESSAGE = 4;

export function estimatePromptTokens(req: ChatRequest): number {
  let n = 3;
  for (const m of req.messages) {
    n += PER_MESSAGE + countTokens(contentText(m.content));
    for (const c of m.tool_calls ?? []) n += countTokens(c.function.name) + countTokens(c.function.arguments);
  }
  for (const t of req.tools ?? []) n += countTokens(JSON.stringify(t.function));
  return n;
}

export function estimateCompletionTokens(res: ChatResponse): number {
  let n = 0;
  for (const c of res.choices) {
    n += countTokens(c.message.content ?? '');
    for (const t of c.message.tool_calls ?? []) n += countTokens(t.function.name) + countTokens(t.function.arguments);
  }
  return n;
}
