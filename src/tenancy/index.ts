// Multi-tenancy: client keys, per-client upstream accounts, bring-your-own-key cloaking, limits and budgets, safe defaults.
export { Tenancy, type TenancyDeps } from './tenancy.ts';
export { KeyStore, parseExpiry, type BudgetPeriod, type KeyPolicy, type KeyRecord, type KeyRejection } from './keys.ts';
export { Budgets, MinuteWindow, periodOf } from './limits.ts';
export { accountFor, accountOverrides, presentedKey, secretsEqual } from './credentials.ts';
export { adminRoutes, operatorGuard, requireAdminKey, keyJson, policyFrom, spentOf, type CreateKeyBody } from './admin.ts';
export { exposureWarnings, isLoopback } from './exposure.ts';
export { TENANCY_MIGRATIONS } from './migrations.ts';
export { checkCollection, patternsAllow, ragCollectionPolicy, readableCollections, type RagCollectionPolicy } from './collections.ts';
export { peerLimitsLayer, forwardSpendNotice } from './peer-limits.ts';
export { Allowances, type Holder, type Limits } from './allowance.ts';
export { rememberedSpend } from './shared/store.ts';
