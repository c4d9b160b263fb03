// `flowrouter doctor`: checks what a node needs before it starts and prints a ✓/✗ table; exits 1 when a check fails.
import { Command } from 'commander';
import { bootstrapProblem, defaultDataDir, type NodeConfig } from '../config/index.ts';
import {
  checkDatabase,
  checkNodeVersion,
  checkPort,
  checkReachable,
  judgeChains,
  meshPorts,
  nodeIsRunning,
  upstreamEndpoints,
  type CheckResult,
} from '../ops/index.ts';
import { configFrom, withConfigFlags, type CommonFlags } from './common.ts';

export interface DoctorOptions {
  /** Per-connection timeout for upstream and node checks. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs every check; later checks that need the config are skipped when it does not load. */
export async function runDoctor(flags: CommonFlags, opts: DoctorOptions): Promise<CheckResult[]> {
  const env = opts.env ?? process.env;
  const results: CheckResult[] = [checkNodeVersion()];
  let config: NodeConfig | undefined;
  try {
    config = configFrom(flags, env);
    results.push({ name: 'config', ok: true, detail: `${config.source}: ${config.chains.size} chain(s), ${config.accounts.size} named account(s)` });
  } catch (err) {
    results.push({ name: 'config', ok: false, detail: (err as Error).message.split('\n')[0] });
  }
  results.push(...checkDatabase(config?.server.dataDir ?? flags.dataDir ?? defaultDataDir(env)));
  if (!config) return results;
  const endpoints = upstreamEndpoints(config);
  const reachability = await Promise.all(endpoints.map((e) => checkReachable(e, opts.timeoutMs)));
  const chains = judgeChains(config, reachability, endpoints);
  results.push(...reachability, ...chains);
  // Only the ports this node listens on: a joining node's bootstrap addresses are its peers', not its own.
  if (config.mesh.enabled) {
    // A warning, not a failure: a node started by hand with --bootstrap runs fine beside pi-peer.yaml's placeholder.
    config.mesh.bootstrap.forEach((entry, i) => {
      const problem = bootstrapProblem(entry);
      if (problem)
        results.push({
          name: 'mesh bootstrap',
          ok: true,
          warn: true,
          detail: `mesh.bootstrap[${i}]: ${problem}; \`start\` refuses it unless --bootstrap replaces it`,
        });
    });
    const loaded = config;
    let running: Promise<boolean> | undefined;
    const isOurs = () => (running ??= nodeIsRunning(loaded, opts.timeoutMs));
    for (const p of meshPorts(config.mesh.listen)) results.push(await checkPort(p.host, p.port, isOurs));
  }
  return results;
}

export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.warn ? '!' : r.ok ? '✓' : '✗'} ${r.name.padEnd(width)}  ${r.detail}`).join('\n');
}

export function doctorCommand(write: (text: string) => void = (t) => process.stdout.write(t)): Command {
  return withConfigFlags(new Command('doctor').description('check Node, the config, the database, upstream reachability and mesh ports'))
    .option('--timeout <ms>', 'timeout per network check', '3000')
    .action(async (flags: CommonFlags & { timeout: string }) => {
      const results = await runDoctor(flags, { timeoutMs: Math.max(1, Number(flags.timeout) || 3000) });
      const failed = results.filter((r) => !r.ok).length;
      const warned = results.filter((r) => r.warn).length;
      write(`${formatResults(results)}\n${failed ? `${failed} check(s) failed` : 'all checks passed'}${warned ? `, ${warned} warning(s)` : ''}\n`);
      if (failed) process.exitCode = 1;
    });
}
