// How many answer tokens a request may cost before it is sent (for TPM and budget holds).
/** Held for the answer when the client sets no max_tokens: budgets must hold even for long answers. */
export const DEFAULT_OUTPUT_RESERVE_TOKENS = 1024;

/** The most tokens the answer may use, as the client allows. */
export function outputAllowance(req: { max_tokens?: unknown; max_completion_tokens?: unknown }): number | undefined {
  const n = req.max_completion_tokens ?? req.max_tokens;
  return typeof n === 'number' ? n : undefined;
}
