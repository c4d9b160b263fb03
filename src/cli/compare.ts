// `flowrouter compare`: per prompt fingerprint, what the shadowed candidate would have saved and how well it agreed.
import { Command } from 'commander';
import type { Db } from '../core/database.ts';
import { compareReport, parseTime } from '../usage/index.ts';
import { exitWithError, withConfigFlags, type CommonFlags } from './common.ts';
import { int, ms, renderTable, usd } from './table.ts';
import { openNodeDb, type OpenNodeDb } from './usage.ts';

export function compareCommand(open: OpenNodeDb = openNodeDb, out: (text: string) => void = (t) => process.stdout.write(t)): Command {
  return withConfigFlags(new Command('compare').description('shadow comparisons per prompt fingerprint: cost saved, latency change, agreement'))
    .option('--from <time>', 'from (ISO date/time or epoch ms, inclusive)')
    .option('--to <time>', 'to (ISO date/time or epoch ms; a bare date includes that day)')
    .option('--json', 'print JSON instead of a table')
    .action((flags: CommonFlags & { from?: string; to?: string; json?: boolean }) => {
      let db: Db | undefined;
      try {
        const range = { from: parseTime(flags.from, 'from'), to: parseTime(flags.to, 'to') };
        db = open(flags);
        const rows = compareReport(db, range);
        if (flags.json) {
          out(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          out('no comparisons yet: give a chain `shadow: { target: …, sample: 0.1 }`\n');
          return;
        }
        const score = (v: unknown) => (v === null || v === undefined ? '' : Number(v).toFixed(2));
        const signedMs = (v: unknown) => (v === null || v === undefined ? '' : `${Number(v) > 0 ? '+' : ''}${ms(v)}`);
        out(
          renderTable(
            [
              { key: 'fingerprint', title: 'prompt' },
              { key: 'chain', title: 'chain' },
              { key: 'candidate_target', title: 'candidate' },
              { key: 'samples', title: 'samples', format: int },
              { key: 'failed', title: 'failed', format: int },
              { key: 'cost_saved', title: 'cost saved', format: usd },
              { key: 'primary_latency_ms', title: 'primary ms', format: ms },
              { key: 'latency_change_ms', title: 'Δ ms', format: signedMs },
              { key: 'agreement', title: 'agreement', format: score },
              { key: 'judge_score', title: 'judge', format: score },
            ],
            rows as unknown as Record<string, unknown>[],
          ),
        );
      } catch (err) {
        exitWithError(err);
      } finally {
        db?.close();
      }
    });
}
