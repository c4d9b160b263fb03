// Where a command finds its config and data when not told: one rule for the CLI and the service, so that
// `flowrouter kb add` on a Pi writes to the database the running node reads.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** The service's config (scripts/install-pi.sh, deploy/flowrouter.service). */
export const SYSTEM_CONFIG_FILE = '/etc/flowrouter/config.yaml';
/** The service's state directory: the data directory of the system config unless it sets `server.data_dir`. */
export const SYSTEM_DATA_DIR = '/var/lib/flowrouter';

export interface ConfigLocation {
  /** The file to read, or undefined for the embedded default. */
  file: string | undefined;
  /** The data directory when neither a flag, FLOWROUTER_DATA_DIR nor the file names one (else ~/.flowrouter). */
  defaultDataDir?: string;
  /** The variables `${VAR}` reads: the process's, plus for the system config those of the service's env file. */
  env: NodeJS.ProcessEnv;
}

/**
 * `--config`, else FLOWROUTER_CONFIG, else the system config when it exists, else the embedded default. The system
 * config comes with what the service has around it: /var/lib/flowrouter and the variables in /etc/flowrouter/env
 * (the unit's EnvironmentFile), so `${FLOWROUTER_ADMIN_KEY}` resolves for `sudo -u flowrouter flowrouter kb …` too.
 */
export function locateConfig(flag: string | undefined, env: NodeJS.ProcessEnv, systemFile = SYSTEM_CONFIG_FILE): ConfigLocation {
  const file = flag ?? (env.FLOWROUTER_CONFIG || undefined) ?? (existsSync(systemFile) ? systemFile : undefined);
  if (file === undefined || resolve(file) !== resolve(systemFile)) return { file, env };
  return { file, defaultDataDir: SYSTEM_DATA_DIR, env: { ...serviceEnv(join(dirname(systemFile), 'env')), ...env } };
}

/** The service's env file as variables; absent or unreadable (not the service's user or group) is empty. */
function serviceEnv(file: string): Record<string, string> {
  try {
    return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}
