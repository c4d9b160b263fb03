// Anthropic Messages clients passed through to Anthropic: their body goes up as sent but for the model, with their
// `anthropic-beta` flags; the answer is read into the internal shape like any Anthropic answer.
import type { ChatRequest } from '../../core/openai.ts';
import type { HttpRequestSpec, NativeApi, ProviderAccount, TranslationContext } from '../types.ts';
import { anthropicHeaders, anthropicPath } from './request.ts';
import { fromAnthropicResponse } from './response.ts';
import { anthropicStreamTranslator } from './stream.ts';

/** The account's headers plus the client's beta flags (both lists kept when both set some). */
function headersFor(account: ProviderAccount, client: Record<string, string>): Record<string, string> {
  const h = anthropicHeaders(account);
  const beta = client['anthropic-beta'];
  if (beta) h['anthropic-beta'] = h['anthropic-beta'] ? `${h['anthropic-beta']},${beta}` : beta;
  return h;
}

function spec(op: string, body: Record<string, unknown>, ctx: TranslationContext, account: ProviderAccount, headers: Record<string, string>): HttpRequestSpec {
  return { method: 'POST', path: anthropicPath(account, op), headers: headersFor(account, headers), body: { ...body, model: ctx.model } };
}

/** The stream translator reads the request only for usage and JSON mode; a passed-through body asks for neither (its structured output is Anthropic's own). */
const STREAM_REQUEST: ChatRequest = { model: '', messages: [], stream: true, stream_options: { include_usage: true } };

export const anthropicNative: NativeApi = {
  api: 'anthropic',
  request: (body, ctx, account, headers) => spec('/messages', body, ctx, account, headers),
  response: fromAnthropicResponse,
  stream: (ctx) => anthropicStreamTranslator(STREAM_REQUEST, ctx),
  countTokens: (body, ctx, account, headers) => spec('/messages/count_tokens', body, ctx, account, headers),
};
