// Prompt normalization on the chat path: sends the normalized request on and reports the prompt tokens it saved.
import { countTokens } from '../core/tokens.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';
import { normalizeRequest } from './normalize.ts';

/** Read by the usage layer; also tells the client what normalization saved. */
export const TOKENS_SAVED_HEADER = 'x-flowrouter-tokens-saved';

/**
 * Tokens one normalized text saved, counted over the lines that changed or went away only: unchanged lines tokenize
 * alike before and after, and counting whole prompts twice per request would cost more than the gateway itself.
 */
export function savedTokens(before: string, after: string): number {
  const kept = new Map<string, number>();
  for (const line of after.split('\n')) kept.set(line, (kept.get(line) ?? 0) + 1);
  const gone: string[] = [];
  for (const line of before.split('\n')) {
    const n = kept.get(line);
    if (n) kept.set(line, n - 1);
    else gone.push(line);
  }
  const added: string[] = [];
  for (const [line, n] of kept) for (let i = 0; i < n; i++) added.push(line);
  return Math.max(0, countTokens(gone.join('\n')) - countTokens(added.join('\n')));
}

export function normalizeLayer(enabled: () => boolean): (next: ChatService) => ChatService {
  return (next) => async (req: ChatRequest, meta: RequestMeta) => {
    if (!enabled()) return next(req, meta);
    const { request, changes } = normalizeRequest(req);
    // Tokens are only counted for texts that changed, so an already-tidy prompt costs no tokenizer work.
    let saved = 0;
    for (const c of changes) saved += savedTokens(c.before, c.after);
    const out = await next(request, meta);
    return saved > 0 ? { ...out, headers: { ...out.headers, [TOKENS_SAVED_HEADER]: String(saved) } } : out;
  };
}
