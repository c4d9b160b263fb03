// The gateway: OpenAI-compatible HTTP endpoints in front of the node's services.
export { buildGateway, type GatewayOptions } from './app.ts';
export { installErrorHandling, sendError, toFlowRouterError } from './errors.ts';
export { writeSse, SSE_HEADERS } from './sse.ts';
export { takeUpstreamKeys, traceHeaders, UPSTREAM_KEY_HEADER_PREFIX } from './edge.ts';
export { validateChatSemantics } from './validate.ts';
export type { GatewayServices, ModelEntry } from './service.ts';
