// The `flowrouter` command line: start a node, check a config, and operate the node's data.
import { Command } from 'commander';
import { join } from 'node:path';
import type { FlowRouterNode } from '../node/index.ts';
import { VERSION } from '../version.ts';
import { openDatabase } from '../core/database.ts';
import { KnowledgeStore } from '../knowledge/index.ts';
import { nodeIdentity } from '../node/identity.ts';
import { loggerOptions } from '../ops/index.ts';
import { configFrom, exitWithError, nodeFetchJson, withConfigFlags, type CommonFlags } from './common.ts';
import { keysCommand } from './keys.ts';
import { usageCommand } from './usage.ts';
import { compareCommand } from './compare.ts';
import { kbCommand } from './kb.ts';
import { doctorCommand } from './doctor.ts';
import { meshCommand, peersCommand } from './mesh.ts';

const program = new Command('flowrouter')
  .description('Sovereign LLM gateway: one OpenAI-compatible endpoint, fallback chains, token saving, knowledge and a mesh')
  .version(VERSION, '-v, --version')
  .showHelpAfterError();

type StartFlags = CommonFlags & { logFormat?: string; logLevel?: string; meshPort?: string; bootstrap?: string[] };

withConfigFlags(program.command('start').description('start a node (gateway on 127.0.0.1:2402 by default)'))
  .option('-p, --port <port>', 'HTTP port (env FLOWROUTER_PORT, default 2402)')
  .option('-H, --host <host>', 'HTTP host (env FLOWROUTER_HOST, default 127.0.0.1)')
  .option('--mesh-port <port>', 'libp2p TCP port (overrides mesh.port)')
  .option('--bootstrap <multiaddr...>', 'bootstrap peer multiaddrs (override mesh.bootstrap)')
  .option('--log-format <format>', 'json or pretty')
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace')
  .action(async (flags: StartFlags) => {
    let node: FlowRouterNode;
    try {
      const config = configFrom(flags, process.env, { checkBootstrap: true });
      const format = flags.logFormat ?? config.server.logFormat;
      if (format !== 'json' && format !== 'pretty') throw new Error(`--log-format must be json or pretty, not "${format}"`);
      // Loaded here, not at the top: the other subcommands never need the server's modules.
      const { FlowRouterNode } = await import('../node/index.ts');
      node = new FlowRouterNode(config, { logger: loggerOptions({ level: flags.logLevel ?? config.server.logLevel, format }) });
      const { url, mesh } = await node.start();
      process.stdout.write(`flowrouter ${VERSION} listening on ${url}/v1 (config: ${config.source}, data: ${config.server.dataDir})\n`);
      if (mesh) {
        process.stdout.write(`mesh peer id ${mesh.peerId}\n${mesh.multiaddrs.map((a) => `mesh listening on ${a}`).join('\n')}\n`);
      }
    } catch (err) {
      exitWithError(err);
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`flowrouter: ${signal}, shutting down\n`);
      const force = setTimeout(() => process.exit(1), node.config.server.shutdownGraceMs + 5000);
      force.unref();
      await node.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

withConfigFlags(program.command('check-config').description('validate a config file and print what it defines')).action((flags: CommonFlags) => {
  try {
    const config = configFrom(flags, process.env, { checkBootstrap: true });
    const chains = [...config.chains.values()].map((c) => `  ${c.name} (${c.strategy}): ${c.targets.map((t) => t.id).join(' → ')}`);
    process.stdout.write(`${config.source}: OK\nchains:\n${chains.join('\n')}\nmesh: ${config.mesh.enabled ? `on, ${config.mesh.listen.join(' ')}` : 'off'}\n`);
  } catch (err) {
    exitWithError(err);
  }
});

/** Opens the node's database and knowledge base directly (the node need not run). */
async function openKnowledge(flags: CommonFlags) {
  const config = configFrom(flags);
  const db = openDatabase(join(config.server.dataDir, 'flowrouter.db'));
  const { peerId } = await nodeIdentity(config.server.dataDir);
  const store = new KnowledgeStore(db, peerId);
  return {
    store,
    // What a node would do in the background (a large document's index job, the WAL checkpoint) is done before exit.
    close: async () => {
      store.settle();
      await store.stop();
      db.close();
    },
  };
}

program.addCommand(keysCommand());
program.addCommand(usageCommand());
program.addCommand(compareCommand());
program.addCommand(kbCommand(openKnowledge));
program.addCommand(doctorCommand());
program.addCommand(
  meshCommand({
    resolvePaths: (flags) => {
      const config = configFrom(flags as CommonFlags);
      return { dataDir: config.server.dataDir, secretFile: config.mesh.secretFile, listen: config.mesh.listen };
    },
    fetchJson: (path) => nodeFetchJson(meshFlags)(path),
    withFlags: (cmd) =>
      withConfigFlags(cmd).hook('preAction', (c) => {
        meshFlags = c.opts();
      }),
  }),
);
let meshFlags: CommonFlags = {};
program.addCommand(withConfigFlags(peersCommand((path) => nodeFetchJson(program.commands.find((c) => c.name() === 'peers')!.opts())(path))));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  exitWithError(err);
}
