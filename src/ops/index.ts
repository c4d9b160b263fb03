// Operating a node: metrics, request logs, the dashboard, lifecycle and the checks `flowrouter doctor` runs.
export { createMetrics, BREAKER_VALUE, type Metrics, type MetricsOptions, type MetricsSources, type BreakerState, type PeerInfo } from './metrics.ts';
export { RateSeries, type SeriesPoint } from './series.ts';
export { observeRequests, type RequestObserver, type RequestRecord } from './observe.ts';
export { metricsObserver, recordRequest, type CostOf } from './record.ts';
export { loggerOptions, requestLogObserver, requestLogFields, REDACT_PATHS, type LogSettings } from './logging.ts';
export { prettyStream, formatPrettyLine } from './pretty.ts';
export { summaryFromMetrics, type DashboardSummary, type SummaryOptions, type TargetSummary, type TokenRow } from './summary.ts';
export { opsRoutes, type OpsRoutesOptions } from './routes.ts';
export { gracefulShutdown, exitOnSignals, type ShutdownOptions, type ShutdownReport, type StopStep } from './lifecycle.ts';
export {
  checkDatabase,
  checkNodeVersion,
  checkPort,
  checkReachable,
  endpointOf,
  judgeChains,
  meshPorts,
  nodeIsRunning,
  upstreamEndpoints,
  MIN_NODE_MAJOR,
  type CheckResult,
  type Endpoint,
} from './checks.ts';
