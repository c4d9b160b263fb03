// Anthropic (Messages API): the provider entry, wiring the pure translations to the Provider interface.
import type { Provider } from '../types.ts';
import { toAnthropicRequest } from './request.ts';
import { fromAnthropicResponse } from './response.ts';
import { anthropicStreamTranslator } from './stream.ts';
import { fromAnthropicError } from './error.ts';
import { anthropicNative } from './native.ts';

export {
  toAnthropicRequest,
  toAnthropicBody,
  toAnthropicCountTokensRequest,
  anthropicHeaders,
  anthropicPath,
  defaultMaxTokens,
  jsonResponseTool,
  thinkingOf,
  DEFAULT_MAX_TOKENS,
  EFFORT_BUDGETS,
  FALLBACK_MAX_TOKENS,
  DEFAULT_ANTHROPIC_VERSION,
  JSON_RESPONSE_TOOL,
} from './request.ts';
export { toAnthropicMessages, imageBlock, documentBlock } from './messages.ts';
export { fromAnthropicResponse, finishReason, thinkingBlock, toUsage } from './response.ts';
export { anthropicStreamTranslator } from './stream.ts';
export { fromAnthropicError, fromAnthropicStreamError } from './error.ts';
export { anthropicNative } from './native.ts';
export type * from './wire.ts';

export const anthropic: Provider = {
  type: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com/v1',
  chat: { request: toAnthropicRequest, response: fromAnthropicResponse, stream: anthropicStreamTranslator },
  error: fromAnthropicError,
  native: { anthropic: anthropicNative },
};
