// Routing: chain selection, target order and fallback.
export { Router, allFailed, type RouterDeps } from './router.ts';
export { selectChain, preferModel, upstreamModel } from './select.ts';
export type { Attempt, ClientInfo, PeerFallback, RequestMeta, Routed, RoutedCall, SendContext, SendToTarget } from './types.ts';
