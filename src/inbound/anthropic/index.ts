// Anthropic Messages API inbound: pure translations between Anthropic's client API and the internal chat shape.
export { anthropicToChatRequest, wantsThinking, ANTHROPIC_ONLY_FIELDS } from './request.ts';
export { chatToAnthropicMessage, toAnthropicUsage, stopReasonOf, messageId } from './response.ts';
export { anthropicStreamEncoder, formatAnthropicSse, type AnthropicStreamEncoder, type AnthropicStreamOptions } from './stream.ts';
export { estimateAnthropicInputTokens, estimateChatInputTokens, IMAGE_TOKENS, PDF_PAGE_TOKENS, TOOLS_PROMPT_TOKENS } from './count-tokens.ts';
export { toAnthropicError, type AnthropicErrorBody } from './errors.ts';
export type { MessagesRequest, AnthropicMessage, AnthropicSseEvent, MessageUsage, OutputBlock, StopReason } from './wire.ts';
export { translateMessagesRequest, anthropicPassthroughBody, anthropicWithSystemText, type TranslatedMessages } from './passthrough.ts';
