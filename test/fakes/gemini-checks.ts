// What the fake Gemini API checks beyond field names: thought signatures (Gemini 3), the thinking config, inline media types.

/** Google's documented value that skips signature validation (history from another model). */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const INLINE_TYPES =
  /^(application\/pdf|text\/(plain|html|css|csv|xml|markdown|rtf|javascript|x-python)|image\/(png|jpeg|webp|heic|heif)|audio\/(wav|mp3|mpeg|aiff|aac|ogg|flac)|video\/[a-z0-9.+-]+)$/;

/** Gemini 3 models check signatures and take thinking levels; the fake treats every `gemini-3…` model so. */
export const isGemini3 = (model: string) => /gemini-3/.test(model);

/** Every thoughtSignature in a reply, so the fake knows which ones it issued. */
export function signaturesIn(reply: unknown, into: Set<string>): void {
  JSON.stringify(reply, (k, v) => {
    if (k === 'thoughtSignature' && typeof v === 'string') into.add(v);
    return v;
  });
}

/**
 * Gemini 3: in the current turn (after the last user text), each model step with function calls has a signature on
 * its first call, and every signature sent is one the API issued (or the documented skip value).
 */
export function checkSignatures(body: any, model: string, issued: Set<string>): string | null {
  if (!isGemini3(model)) return null;
  const contents: any[] = body.contents;
  let turnStart = 0;
  contents.forEach((c, i) => {
    if (c.role === 'user' && c.parts.some((p: any) => !p.functionResponse)) turnStart = i;
  });
  for (const [i, c] of contents.entries()) {
    for (const [j, p] of c.parts.entries()) {
      if (p.thoughtSignature !== undefined && p.thoughtSignature !== SKIP_SIGNATURE && !issued.has(p.thoughtSignature)) {
        return `Unable to submit request because Thought signature is not valid. contents[${i}].parts[${j}]`;
      }
    }
    if (i < turnStart || c.role !== 'model') continue;
    const calls = c.parts.map((p: any, j: number) => [p, j]).filter(([p]: [any]) => p.functionCall);
    if (calls.length && !calls[0][0].thoughtSignature) {
      return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`${calls[0][0].functionCall.name}\` , position ${calls[0][1] + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
    }
  }
  return null;
}

export function checkThinkingConfig(body: any, model: string): string | null {
  const t = body.generationConfig?.thinkingConfig;
  if (t === undefined) return null;
  for (const k of Object.keys(t))
    if (!['thinkingBudget', 'thinkingLevel', 'includeThoughts'].includes(k))
      return `Invalid JSON payload received. Unknown name "${k}" at 'generation_config.thinking_config': Cannot find field.`;
  if (t.thinkingBudget !== undefined && t.thinkingLevel !== undefined) return 'You can only set only one of thinking budget and thinking level.';
  if (t.thinkingLevel !== undefined && !isGemini3(model)) return 'Thinking level is not supported for this model.';
  if (t.thinkingLevel !== undefined && !['minimal', 'low', 'medium', 'high'].includes(t.thinkingLevel))
    return `Invalid value at 'generation_config.thinking_config.thinking_level', "${t.thinkingLevel}"`;
  if (t.thinkingBudget !== undefined && !Number.isInteger(t.thinkingBudget)) return "Invalid value at 'generation_config.thinking_config.thinking_budget'";
  return null;
}

export function checkInlineTypes(body: any): string | null {
  for (const [i, c] of body.contents.entries()) {
    for (const [j, p] of c.parts.entries()) {
      if (p.inlineData && !INLINE_TYPES.test(p.inlineData.mimeType)) return `Unsupported MIME type: ${p.inlineData.mimeType} (contents[${i}].parts[${j}])`;
    }
  }
  return null;
}
