// The gateway: OpenAI-compatible HTTP endpoints in front of the node's services.
export { buildGateway, type GatewayOptions } from './app.ts';
export { installErrorHandling, sendError, toFlowRouterError } from './errors.ts';
export { writeChatStream, pipeRaw, SSE_HEADERS } from './sse.ts';
export { validateChatSemantics } from './validate.ts';
export type { ChatOutcome, ChatService, CompletionsService, EmbeddingsService, GatewayServices, ModelEntry } from './service.ts';
