// Flags and FLOWROUTER_* variables: they win over the file, as if written into it before validation.
import { ConfigError } from '../core/errors.ts';
import { bootstrapProblem } from './bootstrap.ts';

export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  /** The data directory when neither the file nor a flag names one (the system config's is /var/lib/flowrouter). */
  defaultDataDir?: string;
  meshPort?: number;
  bootstrap?: string[];
  /** Check the bootstrap list the mesh will dial (`start`, `check-config`); commands that never dial accept any list. */
  checkBootstrap?: boolean;
}

function portOf(value: string | number, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`invalid ${what} "${value}": expected an integer 0-65535`);
  return n;
}

/** Flags win over FLOWROUTER_* variables, which win over the file. */
export function overridesFrom(
  flags: { host?: string; port?: string | number; dataDir?: string; meshPort?: string; bootstrap?: string[] },
  env: NodeJS.ProcessEnv = process.env,
): ConfigOverrides {
  const port = flags.port ?? env.FLOWROUTER_PORT;
  const out: ConfigOverrides = {
    host: flags.host ?? (env.FLOWROUTER_HOST || undefined),
    dataDir: flags.dataDir ?? (env.FLOWROUTER_DATA_DIR || undefined),
  };
  if (flags.meshPort !== undefined) out.meshPort = portOf(flags.meshPort, 'mesh port');
  if (flags.bootstrap?.length) {
    out.bootstrap = flags.bootstrap
      .flatMap((b) => b.split(','))
      .map((b) => b.trim())
      .filter(Boolean);
    for (const entry of out.bootstrap) {
      const problem = bootstrapProblem(entry);
      if (problem) throw new ConfigError(`--bootstrap: ${problem}`);
    }
  }
  if (port !== undefined && port !== '') out.port = portOf(port, 'port');
  return out;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file's data with the overrides written in; a section of the wrong shape is left for validation to report. */
export function applyOverrides(data: unknown, o: ConfigOverrides): unknown {
  if (!isMapping(data)) return data;
  const out = { ...data };
  const fileDataDir = isMapping(out.server) ? out.server.data_dir : undefined;
  const server = { host: o.host, port: o.port, data_dir: o.dataDir ?? (fileDataDir === undefined ? o.defaultDataDir : undefined) };
  if (Object.values(server).some((v) => v !== undefined) && (out.server === undefined || isMapping(out.server))) {
    out.server = { ...(out.server as object) };
    for (const [k, v] of Object.entries(server)) if (v !== undefined) (out.server as Record<string, unknown>)[k] = v;
  }
  // Mesh flags change a mesh the file declares; they never turn the mesh on.
  if (isMapping(out.mesh)) {
    const mesh = { ...out.mesh };
    if (o.meshPort !== undefined) {
      mesh.port = o.meshPort;
      delete mesh.listen;
    }
    if (o.bootstrap?.length) mesh.bootstrap = o.bootstrap;
    out.mesh = mesh;
  }
  return out;
}
