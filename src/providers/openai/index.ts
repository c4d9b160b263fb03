// OpenAI (api.openai.com) and, through the same functions, any OpenAI-compatible server.
import type { Provider } from '../types.ts';
import { openaiResponsesNative } from './responses.ts';
import { fromOpenAIEmbeddings, fromOpenAIError, fromOpenAIResponse, openaiHeaders, openaiStreamTranslator, toOpenAIRequest } from './translate.ts';

export * from './translate.ts';
export { fromResponsesResponse, responsesStreamTranslator, openaiResponsesNative } from './responses.ts';

export const openai: Provider = {
  type: 'openai',
  defaultBaseUrl: 'https://api.openai.com/v1',
  chat: { request: toOpenAIRequest, response: fromOpenAIResponse, stream: openaiStreamTranslator },
  error: fromOpenAIError,
  // Used for targets with `api: responses` only; other targets take Responses clients as Chat Completions.
  native: { responses: openaiResponsesNative },
  probe: (account) => ({ method: 'GET', path: '/models', headers: openaiHeaders(account) }),
  embeddings: {
    request: (req, ctx, account) => ({ method: 'POST', path: '/embeddings', headers: openaiHeaders(account), body: { ...req, model: ctx.model } }),
    response: fromOpenAIEmbeddings,
  },
  completions: {
    request: (req, ctx, account) => ({ method: 'POST', path: '/completions', headers: openaiHeaders(account), body: { ...req, model: ctx.model } }),
  },
};
