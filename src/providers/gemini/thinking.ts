// Gemini's thinking: the thinking config made from the request's knobs, and thought signatures on function calls.
import type { ChatRequest, ReasoningEffort } from '../../core/openai.ts';
import type { GeminiContent, GeminiThinkingConfig } from './wire.ts';

/**
 * Google's documented value for a function call Gemini did not sign (history from another model, or a client that
 * dropped the signature): Gemini 3 refuses an unsigned call in the current turn, and accepts this one.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Gemini 3 and later (and `-latest` aliases) check thought signatures and take thinking levels; 1.x, 2.x and Gemma do neither. */
export function isGemini3OrLater(model: string): boolean {
  return !/gemini-(?:1|2)[.-]|gemma/i.test(model);
}

/**
 * Puts the sentinel on the first function call of each model turn that carries no signature at all: Gemini signs
 * only the first of parallel calls, so a turn with a signature anywhere is left as the client sent it.
 */
export function signUnsignedCalls(contents: GeminiContent[]): void {
  for (const c of contents) {
    if (c.role !== 'model') continue;
    const calls = c.parts.filter((p) => p.functionCall);
    if (calls.length && !calls.some((p) => p.thoughtSignature)) calls[0].thoughtSignature = SKIP_THOUGHT_SIGNATURE;
  }
}

/** Google's mapping of OpenAI's reasoning_effort to 2.5 thinking budgets (its OpenAI-compatible API uses the same). */
const EFFORT_BUDGETS: Readonly<Record<ReasoningEffort, number>> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 24576,
  max: 32768,
};

/**
 * The thinking config: from Anthropic's `thinking` (a budget, thoughts included so they come back as reasoning), else
 * from `reasoning_effort` (a level for Gemini 3, a budget before). `thinking: disabled` leaves the model's default.
 */
export function thinkingConfigOf(req: ChatRequest, model: string): GeminiThinkingConfig | undefined {
  const t = req.thinking;
  if (t?.type === 'enabled') return { thinkingBudget: t.budget_tokens, includeThoughts: t.display !== 'omitted' };
  if (t?.type === 'adaptive') return { includeThoughts: t.display !== 'omitted' };
  const effort = req.reasoning_effort;
  if (!effort) return undefined;
  if (isGemini3OrLater(model)) return { thinkingLevel: effort === 'none' || effort === 'minimal' || effort === 'low' ? 'low' : 'high' };
  return { thinkingBudget: EFFORT_BUDGETS[effort] ?? EFFORT_BUDGETS.medium };
}
