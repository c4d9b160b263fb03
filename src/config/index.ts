// Config: YAML → validated → typed NodeConfig. Code below this never reads raw YAML.
import { DEFAULT_CONFIG_YAML } from './default.ts';
import { loadConfigFile, parseConfig } from './load.ts';
import { resolveConfig, type NodeConfig } from './resolve.ts';

export { ConfigError, parseConfig, loadConfigFile } from './load.ts';
export { resolveConfig, servedModels, defaultDataDir, DEFAULT_TIMEOUTS, type NodeConfig, type ChainConfig, type TargetConfig, type ServerConfig, type Strategy, type MeshConfig, type ForwardLimits, DEFAULT_MESH_PORT, type AuthConfig, type AccountOverride, type TenantConfig, type ShadowConfig, type CacheConfig, type UsageConfig } from './resolve.ts';
export { DEFAULT_CONFIG_YAML } from './default.ts';
export type { RawConfig } from './schema.ts';
export { globToRegExp, type RouteRule, type RouterSettings } from './routing.ts';
export { watchConfig, type ConfigWatcher, type WatchConfigOptions } from './watch.ts';

export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  meshPort?: number;
  bootstrap?: string[];
}

/** Flags win over FLOWROUTER_* variables, which win over the file. */
export function overridesFrom(flags: { host?: string; port?: string | number; dataDir?: string; meshPort?: string; bootstrap?: string[] }, env: NodeJS.ProcessEnv = process.env): ConfigOverrides {
  const port = flags.port ?? env.FLOWROUTER_PORT;
  const out: ConfigOverrides = {
    host: flags.host ?? (env.FLOWROUTER_HOST || undefined),
    dataDir: flags.dataDir ?? (env.FLOWROUTER_DATA_DIR || undefined),
  };
  if (flags.meshPort !== undefined) {
    const n = Number(flags.meshPort);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid mesh port "${flags.meshPort}": expected an integer 0-65535`);
    out.meshPort = n;
  }
  if (flags.bootstrap?.length) out.bootstrap = flags.bootstrap.flatMap((b) => b.split(',')).map((b) => b.trim()).filter(Boolean);
  if (port !== undefined && port !== '') {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${port}": expected an integer 0-65535`);
    out.port = n;
  }
  return out;
}

/** Loads the config file given, or the embedded default. */
export function loadNodeConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const loaded = file ? loadConfigFile(file, env) : parseConfig(DEFAULT_CONFIG_YAML, '(embedded default)', env);
  return resolveConfig(loaded.raw, loaded.file, overrides);
}
