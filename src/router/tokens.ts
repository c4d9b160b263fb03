// Estimated prompt tokens of a request, counted with a real tokenizer once per request object and reused.
import { countTokens } from '../core/tokens.ts';
import type { ChatMessage } from '../core/openai.ts';

const counted = new WeakMap<object, number>();

/** Providers bill a small image at about this many tokens; a rough figure is enough for routing and limits. */
const IMAGE_TOKENS = 85;
/** Role and separator tokens each chat message adds. */
const PER_MESSAGE = 4;

function messageTokens(m: ChatMessage): number {
  let n = PER_MESSAGE;
  if (typeof m.content === 'string') n += countTokens(m.content);
  else if (Array.isArray(m.content)) {
    for (const part of m.content) n += part.type === 'text' ? countTokens(part.text) : IMAGE_TOKENS;
  }
  if (m.tool_calls?.length) n += countTokens(JSON.stringify(m.tool_calls));
  return n;
}

/** Chat messages and tools, or a completions `prompt`, or an embeddings `input`. */
export function promptTokens(req: { model: string; messages?: unknown; tools?: unknown; prompt?: unknown; input?: unknown }): number {
  const cached = counted.get(req);
  if (cached !== undefined) return cached;
  let n = 0;
  if (Array.isArray(req.messages)) for (const m of req.messages as ChatMessage[]) n += messageTokens(m);
  if (Array.isArray(req.tools) && req.tools.length) n += countTokens(JSON.stringify(req.tools));
  for (const text of [req.prompt, req.input]) {
    if (typeof text === 'string') n += countTokens(text);
    else if (Array.isArray(text)) n += text.reduce((sum: number, t) => sum + (typeof t === 'string' ? countTokens(t) : Array.isArray(t) ? t.length : 0), 0);
  }
  counted.set(req, n);
  return n;
}
