// Usage and cost: prices, the ledger and its layer, reports and endpoints, and model comparison.
export { PriceTable, BUNDLED_PRICES, type Price } from './prices.ts';
export { UsageLedger, type UsageRow, type LedgerOptions } from './ledger.ts';
export { usageLayer, type UsageLayerDeps, type AnswerListener } from './layer.ts';
export { promptFingerprint } from './fingerprint.ts';
export { usageOf, estimateCompletionTokens } from './tokens.ts';
export { usageSummary, usageCsv, parseGroup, parseTime, USAGE_GROUPS, type UsageGroup, type UsageTotals, type UsageRange } from './report.ts';
export { registerUsageRoutes, type MeshUsageSource } from './routes.ts';
export { localDailyRows, parseDailyRows, mergeUsage, mergeUsageCsv, MESH_USAGE_GROUPS, type DailyRow, type MemberUsage } from './mesh-report.ts';
export { ShadowSampler, type ShadowDeps } from './shadow.ts';
export { compareReport, type CompareTotals } from './compare-report.ts';
export { agreementScore, parseJudgeScore } from './agreement.ts';
