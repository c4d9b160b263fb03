// Options and helpers every subcommand shares: --config, --data-dir, and loading the node's config from them.
import type { Command } from 'commander';
import { ConfigError, loadNodeConfig, locateConfig, overridesFrom, SYSTEM_CONFIG_FILE, type NodeConfig } from '../config/index.ts';

export interface CommonFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: string;
}

/** Adds --config and --data-dir (every subcommand that touches the database has them). */
export function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', `config file (YAML; env FLOWROUTER_CONFIG); default ${SYSTEM_CONFIG_FILE} when it exists, else the embedded default`)
    .option('-d, --data-dir <dir>', "data directory (env FLOWROUTER_DATA_DIR); default the config's server.data_dir, else ~/.flowrouter");
}

export interface ConfigUse {
  /** The command dials the mesh's bootstrap peers (`start`), or reports on them (`check-config`, `doctor`). */
  checkBootstrap?: boolean;
  /** Replaced only in tests. */
  systemFile?: string;
}

/** The config a command runs with, found by `locateConfig`'s rule. */
export function configFrom(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env, use: ConfigUse = {}): NodeConfig {
  const where = locateConfig(flags.config, env, use.systemFile ?? SYSTEM_CONFIG_FILE);
  const overrides = { ...overridesFrom(flags, where.env), defaultDataDir: where.defaultDataDir, checkBootstrap: use.checkBootstrap };
  return loadNodeConfig(where.file, overrides, where.env);
}

/** Prints a config or usage error and exits 2 — never a stack trace for a user's mistake. */
export function exitWithError(err: unknown): never {
  const message = err instanceof ConfigError ? `config error:\n${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`flowrouter: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

/** GET on the running node named by the config (its host and port), with the admin key when one is configured. */
export function nodeFetchJson(flags: CommonFlags): (path: string) => Promise<unknown> {
  return async (path) => JSON.parse(await nodeFetchText(flags)(path));
}

/** The same GET, the body as text (a CSV); a refusal is thrown with the node's message. */
export function nodeFetchText(flags: CommonFlags): (path: string) => Promise<string> {
  return async (path) => {
    const config = configFrom(flags);
    const { host, port } = config.server;
    const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const base = `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
    const headers: Record<string, string> = config.auth.adminKey ? { authorization: `Bearer ${config.auth.adminKey}` } : {};
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    } catch {
      throw new Error(`no node answers at ${base}: is it running (flowrouter start) with this config?`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message: string | undefined;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
      } catch {
        /* not JSON */
      }
      throw new Error(message ?? `${base}${path} answered ${res.status}`);
    }
    return text;
  };
}
