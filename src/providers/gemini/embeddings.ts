// OpenAI embeddings ⇄ Gemini `batchEmbedContents`.
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../core/openai.ts';
import { ClientError, UpstreamError } from '../../core/errors.ts';
import type { HttpRequestSpec, ProviderAccount, TranslationContext } from '../types.ts';
import { geminiHeaders, geminiModelPath } from './request.ts';
import { checkGeminiBody } from './response.ts';

export function toGeminiEmbeddingsRequest(req: EmbeddingsRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  const inputs = typeof req.input === 'string' ? [req.input] : req.input;
  if (inputs.length === 0) throw new ClientError('input must not be empty', { param: 'input' });
  if (!inputs.every((x): x is string => typeof x === 'string')) {
    throw new ClientError('gemini embeddings take text input only, not token arrays', { param: 'input' });
  }
  const model = `models/${ctx.model.replace(/^models\//, '')}`;
  const requests = inputs.map((text) => ({
    model,
    content: { parts: [{ text }] },
    ...(req.dimensions != null ? { outputDimensionality: req.dimensions } : {}),
  }));
  return { method: 'POST', path: geminiModelPath(ctx.model, 'batchEmbedContents'), headers: geminiHeaders(account), body: { requests } };
}

/** Float vectors; base64 `encoding_format` is not Gemini's to produce (the response step never sees the request). */
export function fromGeminiEmbeddings(body: unknown, ctx: TranslationContext): EmbeddingsResponse {
  const res = checkGeminiBody(body) as { embeddings?: { values?: number[] }[]; usageMetadata?: { promptTokenCount?: number; totalTokenCount?: number } };
  if (!Array.isArray(res.embeddings)) throw new UpstreamError('protocol', 'gemini returned embeddings without a list');
  const data = res.embeddings.map((e, index) => {
    if (!Array.isArray(e?.values)) throw new UpstreamError('protocol', `gemini returned embedding ${index} without values`);
    return { object: 'embedding' as const, index, embedding: e.values };
  });
  const prompt = res.usageMetadata?.promptTokenCount ?? 0;
  return { object: 'list', data, model: ctx.model, usage: { prompt_tokens: prompt, total_tokens: res.usageMetadata?.totalTokenCount ?? prompt } };
}
