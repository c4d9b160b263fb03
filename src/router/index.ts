// Routing: chain selection, strategies, resilience wrappers around "send to target", status and health.
export { Router, allFailed, MESH_CHAIN, type RouterDeps } from './router.ts';
export { selectChain, preferModel, upstreamModel } from './select.ts';
export { matchRoute, ruleMatches } from './rules.ts';
export { promptTokens } from './tokens.ts';
export { orderTargets, type OrderContext } from './strategies.ts';
export { CircuitBreaker, type BreakerSettings, type BreakerState } from './breaker.ts';
export {
  AttemptRefused,
  compose,
  withBreaker,
  withGate,
  withLimits,
  withStats,
  TargetSkipped,
  type AttemptContext,
  type Interceptor,
  type TargetCall,
} from './interceptors.ts';
export { withRetry, backoffDelay, isRetryable, type Sleep } from './retry.ts';
export { routerRoutes, type RouterRoutesOptions } from './routes.ts';
export type { RouterStatus, TargetStatus } from './status.ts';
export type { PeerDirectory, PriceLookup, SendContext, SendToTarget, TargetProbe, TargetSupports } from './types.ts';
