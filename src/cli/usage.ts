// `flowrouter usage`: the ledger's totals as a table (or the billing CSV), read straight from the node's database; with
// --mesh, every member's merged, asked of the running node.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { openDatabase, type Db } from '../core/database.ts';
import { parseGroup, parseTime, usageCsv, usageSummary, USAGE_GROUPS } from '../usage/index.ts';
import { configFrom, exitWithError, nodeFetchText, withConfigFlags, type CommonFlags } from './common.ts';
import { int, ms, renderTable, usd } from './table.ts';

/** Opens the database of the node the flags describe (read from its data dir), or throws when there is none yet. */
export type OpenNodeDb = (flags: CommonFlags) => Db;

export const openNodeDb: OpenNodeDb = (flags) => {
  const file = join(configFrom(flags).server.dataDir, 'flowrouter.db');
  if (!existsSync(file)) throw new Error(`no database at ${file}: has a node run with this data dir?`);
  return openDatabase(file);
};

/** GET on the running node (its config's host and port, the admin key), the body as text. */
export type AskNode = (flags: CommonFlags) => (path: string) => Promise<string>;

const COLUMNS = (by: string) => [
  { key: 'key', title: by },
  { key: 'requests', title: 'requests', format: int },
  { key: 'errors', title: 'errors', format: int },
  { key: 'prompt_tokens', title: 'prompt tok', format: int },
  { key: 'completion_tokens', title: 'compl. tok', format: int },
  { key: 'cost', title: 'cost', format: usd },
  { key: 'cache_hits', title: 'cache hits', format: int },
  { key: 'cost_saved', title: 'saved $', format: usd },
  { key: 'tokens_saved', title: 'saved tok', format: int },
  { key: 'avg_latency_ms', title: 'avg ms', format: ms },
];

type UsageFlags = CommonFlags & { by: string; from?: string; to?: string; csv?: boolean; mesh?: boolean };

/** Every member's usage, merged by the running node; says which members did not answer. */
async function meshUsage(flags: UsageFlags, ask: AskNode, out: (text: string) => void): Promise<void> {
  const range = { from: parseTime(flags.from, 'from'), to: parseTime(flags.to, 'to') };
  const query = new URLSearchParams({ scope: 'mesh', by: flags.by });
  if (range.from !== undefined) query.set('from', String(range.from));
  if (range.to !== undefined) query.set('to', String(range.to));
  if (flags.csv) {
    out(await ask(flags)(`/v1/usage/export.csv?${query}`));
    return;
  }
  const body = JSON.parse(await ask(flags)(`/v1/usage?${query}`)) as {
    data: Record<string, unknown>[];
    members: { peer: string; status: string; error?: string }[];
    complete: boolean;
  };
  const missing = body.members.filter((m) => m.status !== 'ok');
  out(
    `mesh: ${body.members.length - missing.length} of ${body.members.length} members answered${missing.length ? `; missing (their usage is not in these totals): ${missing.map((m) => `${m.peer} (${m.status})`).join(', ')}` : ''}\n`,
  );
  out(body.data.length ? renderTable(COLUMNS(flags.by), body.data) : 'no usage in this range\n');
}

export function usageCommand(
  open: OpenNodeDb = openNodeDb,
  out: (text: string) => void = (t) => process.stdout.write(t),
  ask: AskNode = nodeFetchText,
): Command {
  return withConfigFlags(new Command('usage').description('requests, tokens, cost and savings from the usage ledger'))
    .option('--by <group>', `group by ${USAGE_GROUPS.join(', ')} (with --mesh: model, client or day)`, 'model')
    .option('--from <time>', 'from (ISO date/time or epoch ms, inclusive)')
    .option('--to <time>', 'to (ISO date/time or epoch ms; a bare date includes that day)')
    .option('--csv', 'print the billing CSV (per client, day and model) instead')
    .option('--mesh', "every member's usage merged (asked of the running node; a forwarded request counts once, where it entered)")
    .action(async (flags: UsageFlags) => {
      if (flags.mesh) {
        try {
          await meshUsage(flags, ask, out);
        } catch (err) {
          exitWithError(err);
        }
        return;
      }
      let db: Db | undefined;
      try {
        const range = { from: parseTime(flags.from, 'from'), to: parseTime(flags.to, 'to') };
        db = open(flags);
        if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'usage_ledger'").get()) {
          out('no usage recorded yet\n');
          return;
        }
        if (flags.csv) {
          out(usageCsv(db, range));
          return;
        }
        const by = parseGroup(flags.by);
        const rows = usageSummary(db, by, range);
        if (rows.length === 0) {
          out('no usage in this range\n');
          return;
        }
        out(renderTable(COLUMNS(by), rows as unknown as Record<string, unknown>[]));
      } catch (err) {
        exitWithError(err);
      } finally {
        db?.close();
      }
    });
}
