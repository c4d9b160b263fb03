// Prompt normalization on the chat path: sends the normalized request on and records the prompt tokens it saved.
import type { Layer } from '../pipeline/index.ts';
import { normalizeRequest } from './normalize.ts';
import { TokenBudget } from '../core/tokens.ts';
import { savedTokens } from './saved-tokens.ts';

export function normalizeLayer(enabled: () => boolean): Layer<'chat'> {
  return (next) => async (req, ctx) => {
    // Messages and Responses clients keep their bytes: their body may go upstream as sent (passthrough), and agents'
    // prompts are mostly code and tool output whose spacing the client chose.
    if (!enabled() || ctx.api !== 'chat') return next(req, ctx);
    const { request, changes } = normalizeRequest(req);
    // Tokens are only counted for texts that changed, so an already-tidy prompt costs no tokenizer work; one budget
    // for all of them bounds what an untidy one costs.
    const budget = new TokenBudget();
    for (const c of changes) ctx.trace.tokensSaved += savedTokens(c.before, c.after, budget);
    return next(request, ctx);
  };
}
