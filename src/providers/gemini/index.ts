// Google Gemini (Generative Language API v1beta): generateContent, streamGenerateContent (SSE) and batchEmbedContents.
import type { Provider } from '../types.ts';
import { toGeminiRequest } from './request.ts';
import { fromGeminiResponse } from './response.ts';
import { geminiStreamTranslator } from './stream.ts';
import { fromGeminiError } from './error.ts';
import { fromGeminiEmbeddings, toGeminiEmbeddingsRequest } from './embeddings.ts';

export { toGeminiRequest, toGeminiBody, geminiHeaders, geminiModelPath } from './request.ts';
export { fromGeminiResponse, mapFinishReason, usageFromGemini, toolCallId } from './response.ts';
export { geminiStreamTranslator } from './stream.ts';
export { fromGeminiError, fromGeminiInBandError } from './error.ts';
export { toGeminiSchema } from './schema.ts';
export { toGeminiEmbeddingsRequest, fromGeminiEmbeddings } from './embeddings.ts';
export type * from './wire.ts';

export const gemini: Provider = {
  type: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  chat: { request: toGeminiRequest, response: fromGeminiResponse, stream: geminiStreamTranslator },
  error: fromGeminiError,
  embeddings: { request: toGeminiEmbeddingsRequest, response: fromGeminiEmbeddings },
};
