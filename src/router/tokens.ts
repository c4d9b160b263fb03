// Estimated prompt tokens of a request, counted with a real tokenizer once per request object and reused.
import { countTokens, TokenBudget } from '../core/tokens.ts';
import type { ChatMessage } from '../core/openai.ts';

const counted = new WeakMap<object, number>();

/** Providers bill a small image at about this many tokens; a rough figure is enough for routing and limits. */
const IMAGE_TOKENS = 85;
/** Role and separator tokens each chat message adds. */
const PER_MESSAGE = 4;

function messageTokens(m: ChatMessage, budget: TokenBudget): number {
  let n = PER_MESSAGE;
  if (typeof m.content === 'string') n += countTokens(m.content, budget);
  else if (Array.isArray(m.content)) {
    for (const part of m.content) n += part.type === 'text' ? countTokens(part.text, budget) : IMAGE_TOKENS;
  }
  if (m.tool_calls?.length) n += countTokens(JSON.stringify(m.tool_calls), budget);
  return n;
}

/**
 * Chat messages and tools, or a completions `prompt`, or an embeddings `input`. One token budget for the whole
 * request: however many or long its texts, counting them holds the event loop for a few milliseconds at most.
 */
export function promptTokens(req: { model: string; messages?: unknown; tools?: unknown; prompt?: unknown; input?: unknown }): number {
  const cached = counted.get(req);
  if (cached !== undefined) return cached;
  const budget = new TokenBudget();
  let n = 0;
  if (Array.isArray(req.messages)) for (const m of req.messages as ChatMessage[]) n += messageTokens(m, budget);
  if (Array.isArray(req.tools) && req.tools.length) n += countTokens(JSON.stringify(req.tools), budget);
  for (const text of [req.prompt, req.input]) {
    if (typeof text === 'string') n += countTokens(text, budget);
    else if (Array.isArray(text))
      n += text.reduce((sum: number, t) => sum + (typeof t === 'string' ? countTokens(t, budget) : Array.isArray(t) ? t.length : 0), 0);
  }
  counted.set(req, n);
  return n;
}
