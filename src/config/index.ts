// Config: YAML → one zod schema (defaults, transforms, cross-references) → typed NodeConfig. Code below never reads YAML.
import { DEFAULT_CONFIG_YAML } from './default.ts';
import { loadConfigFile, parseConfig } from './load.ts';
import type { ConfigOverrides } from './overrides.ts';
import type { NodeConfig } from './schema.ts';

export { parseConfig, loadConfigFile } from './load.ts';
export { ConfigError } from '../core/errors.ts';
export { overridesFrom, type ConfigOverrides } from './overrides.ts';
export type { NodeConfig, TenantConfig } from './schema.ts';
export { DEFAULT_TIMEOUTS, type AccountOverride, type ProviderAccount, type Timeouts } from './accounts.ts';
export type { TargetConfig, TargetKind } from './targets.ts';
export { servedModels, STRATEGIES, type ChainConfig, type ShadowConfig, type Strategy } from './chains.ts';
export { DEFAULT_MESH_PORT, type ForwardLimits, type MeshConfig } from './mesh.ts';
export { defaultDataDir, type AuthConfig, type CacheConfig, type ResponsesConfig, type ServerConfig, type UsageConfig } from './sections.ts';
export { globToRegExp, type RouteRule, type RouterSettings } from './routing.ts';
export { DEFAULT_CONFIG_YAML } from './default.ts';
export { watchConfig, type ConfigWatcher, type WatchConfigOptions } from './watch.ts';
export { locateConfig, SYSTEM_CONFIG_FILE, SYSTEM_DATA_DIR, type ConfigLocation } from './locate.ts';
export { bootstrapProblem } from './bootstrap.ts';

/** Loads the config file given, or the embedded default. */
export function loadNodeConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return file ? loadConfigFile(file, env, overrides) : parseConfig(DEFAULT_CONFIG_YAML, '(embedded default)', env, overrides);
}
