// OpenAI Responses API inbound: pure translations between the Responses client API and the internal chat shape.
export { responsesToChatRequest, OPENAI_ONLY_FIELDS, type ResponsesTranslationOptions } from './request.ts';
export { toChatMessages as responseItemsToMessages, type ItemResolver } from './input.ts';
export { chatToResponse, responseShell, failedResponse, toResponseUsage, statusOf, type ResponseContext } from './response.ts';
export { responsesStreamEncoder, formatResponsesSse, type ResponsesStreamEncoder } from './stream.ts';
export type { ResponsesRequest, ResponseObject, OutputItem, InputItem, ResponsesSseEvent, ResponseUsage } from './wire.ts';
export { translateResponsesRequest, nativeResponsesBody, responsesWithSystemText, type TranslatedResponses } from './passthrough.ts';
