// Azure OpenAI: OpenAI's body, a deployment in the path, `api-version` in the query and the key in `api-key`.
import type { HttpRequestSpec, NativeApi, Provider, ProviderAccount, TranslationContext } from '../types.ts';
import { toOpenAIBody, fromOpenAIResponse, openaiStreamTranslator, fromOpenAIError, fromOpenAIEmbeddings, openaiResponsesNative } from '../openai/index.ts';
import type { ChatRequest, CompletionsRequest, EmbeddingsRequest } from '../../core/openai.ts';

export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

function azurePath(account: ProviderAccount, ctx: TranslationContext, op: string): string {
  const deployment = encodeURIComponent(account.deployment ?? ctx.model);
  const version = encodeURIComponent(account.apiVersion ?? AZURE_DEFAULT_API_VERSION);
  return `/openai/deployments/${deployment}/${op}?api-version=${version}`;
}

function azureHeaders(account: ProviderAccount): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', ...account.headers };
  if (account.key) h['api-key'] = account.key;
  return h;
}

export function toAzureRequest(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  const body = toOpenAIBody(req, ctx.model);
  return { method: 'POST', path: azurePath(account, ctx, 'chat/completions'), headers: azureHeaders(account), body };
}

/**
 * The Responses API on Azure is the OpenAI-compatible v1 surface: no deployment in the path and no api-version; the
 * deployment is the body's model.
 */
const azureResponsesNative: NativeApi = {
  ...openaiResponsesNative,
  request: (body, ctx, account) => ({
    method: 'POST',
    path: '/openai/v1/responses',
    headers: azureHeaders(account),
    body: { ...body, model: account.deployment ?? ctx.model },
  }),
};

export const azure: Provider = {
  type: 'azure',
  defaultBaseUrl: '',
  baseUrlExample: 'https://<resource>.openai.azure.com',
  chat: { request: toAzureRequest, response: fromOpenAIResponse, stream: openaiStreamTranslator },
  error: fromOpenAIError,
  native: { responses: azureResponsesNative },
  embeddings: {
    request: (req: EmbeddingsRequest, ctx, account) => ({
      method: 'POST',
      path: azurePath(account, ctx, 'embeddings'),
      headers: azureHeaders(account),
      body: { ...req, model: ctx.model },
    }),
    response: fromOpenAIEmbeddings,
  },
  completions: {
    request: (req: CompletionsRequest, ctx, account) => ({
      method: 'POST',
      path: azurePath(account, ctx, 'completions'),
      headers: azureHeaders(account),
      body: { ...req, model: ctx.model },
    }),
  },
};
