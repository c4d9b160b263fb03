// Prompt normalization on the chat path: sends the normalized request on and reports the prompt tokens it saved.
import type { ChatRequest } from '../core/openai.ts';
import type { ChatService } from '../gateway/index.ts';
import type { RequestMeta } from '../router/index.ts';
import { normalizeRequest } from './normalize.ts';
import { TokenBudget } from '../core/tokens.ts';
import { savedTokens } from './saved-tokens.ts';

/** Read by the usage layer; also tells the client what normalization saved. */
export const TOKENS_SAVED_HEADER = 'x-flowrouter-tokens-saved';

export function normalizeLayer(enabled: () => boolean): (next: ChatService) => ChatService {
  return (next) => async (req: ChatRequest, meta: RequestMeta) => {
    if (!enabled()) return next(req, meta);
    const { request, changes } = normalizeRequest(req);
    // Tokens are only counted for texts that changed, so an already-tidy prompt costs no tokenizer work; one budget
    // for all of them bounds what an untidy one costs.
    const budget = new TokenBudget();
    let saved = 0;
    for (const c of changes) saved += savedTokens(c.before, c.after, budget);
    const out = await next(request, meta);
    return saved > 0 ? { ...out, headers: { ...out.headers, [TOKENS_SAVED_HEADER]: String(saved) } } : out;
  };
}
