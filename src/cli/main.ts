// The `flowrouter` command line: start a node, check a config, and operate the node's data.
import { Command } from 'commander';
import { FlowRouterNode, VERSION } from '../node.ts';
import { configFrom, exitWithError, withConfigFlags, type CommonFlags } from './common.ts';
import { keysCommand } from './keys.ts';
import { usageCommand } from './usage.ts';
import { compareCommand } from './compare.ts';

const program = new Command('flowrouter')
  .description('Sovereign LLM gateway: one OpenAI-compatible endpoint, fallback chains, token saving, knowledge and a mesh')
  .version(VERSION, '-v, --version')
  .showHelpAfterError();

withConfigFlags(program.command('start').description('start a node (gateway on 127.0.0.1:2402 by default)'))
  .option('-p, --port <port>', 'HTTP port (env FLOWROUTER_PORT, default 2402)')
  .option('-H, --host <host>', 'HTTP host (env FLOWROUTER_HOST, default 127.0.0.1)')
  .option('--log-format <format>', 'json or pretty', 'json')
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace')
  .action(async (flags: CommonFlags & { logFormat: string; logLevel?: string }) => {
    let node: FlowRouterNode;
    try {
      const config = configFrom(flags);
      const level = flags.logLevel ?? config.server.logLevel;
      const pretty = (flags.logFormat ?? config.server.logFormat) === 'pretty';
      node = new FlowRouterNode(config, { logger: { level, ...(pretty ? { transport: undefined } : {}) } });
      const { url } = await node.start();
      process.stdout.write(`flowrouter ${VERSION} listening on ${url}/v1 (config: ${config.source}, data: ${config.server.dataDir})\n`);
    } catch (err) {
      exitWithError(err);
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`flowrouter: ${signal}, shutting down\n`);
      const force = setTimeout(() => process.exit(1), node.config.server.shutdownGraceMs + 2000);
      force.unref();
      await node.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

withConfigFlags(program.command('check-config').description('validate a config file and print what it defines'))
  .action((flags: CommonFlags) => {
    try {
      const config = configFrom(flags);
      const chains = [...config.chains.values()].map((c) => `  ${c.name} (${c.strategy}): ${c.targets.map((t) => t.id).join(' → ')}`);
      process.stdout.write(`${config.source}: OK\nchains:\n${chains.join('\n')}\n`);
    } catch (err) {
      exitWithError(err);
    }
  });

program.addCommand(keysCommand());
program.addCommand(usageCommand());
program.addCommand(compareCommand());

await program.parseAsync(process.argv);
