// `flowrouter keys create|ls|revoke|rotate`: client keys in the node's database (works while the node runs, which
// notices the change and passes it to every mesh member).
import { join } from 'node:path';
import { Command } from 'commander';
import { openDatabase } from '../core/database.ts';
import { nodeIdentity } from '../node/identity.ts';
import { Budgets, KeyStore, keyJson, policyFrom, rememberedSpend, spentOf, type KeyRecord } from '../tenancy/index.ts';
import { configFrom, exitWithError, withConfigFlags, type CommonFlags } from './common.ts';

export interface KeysIo {
  out: (text: string) => void;
  /** Reports an error; the CLI exits, tests record it. */
  fail: (err: unknown) => void;
}

const processIo: KeysIo = { out: (text) => process.stdout.write(text), fail: exitWithError };

interface CreateFlags extends CommonFlags {
  name: string;
  tenant?: string;
  chains?: string;
  models?: string;
  collections?: string;
  budgetUsd?: string;
  budgetPeriod?: 'day' | 'month';
  rpm?: string;
  tpm?: string;
  expires?: string;
}

function list(text: string | undefined): string[] | undefined {
  const items = text
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items?.length ? items : undefined;
}

function number(text: string | undefined, flag: string, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isInteger(n) || n === 0)))
    throw new Error(`${flag}: expected ${integer ? 'a positive integer' : 'a number ≥ 0'}, got "${text}"`);
  return n;
}

function describe(rec: KeyRecord, spent: number | undefined, meshSpent?: number): string {
  const limits =
    [
      rec.chains && `chains=${rec.chains.join(',')}`,
      rec.models && `models=${rec.models.join(',')}`,
      rec.collections && `collections=${rec.collections.join(',')}`,
      rec.rpm !== undefined && `rpm=${rec.rpm}`,
      rec.tpm !== undefined && `tpm=${rec.tpm}`,
      rec.budgetUsd !== undefined
        && `budget=$${spent?.toFixed(4) ?? '0'}/$${rec.budgetUsd} per ${rec.budgetPeriod}${meshSpent === undefined ? '' : ` (mesh-wide $${meshSpent.toFixed(4)})`}`,
    ]
      .filter(Boolean)
      .join(' ') || 'unrestricted';
  const status = rec.revokedAt
    ? 'revoked'
    : rec.expiresAt && rec.expiresAt <= Date.now()
      ? 'expired'
      : rec.expiresAt
        ? `expires ${new Date(rec.expiresAt).toISOString()}`
        : 'active';
  return `${rec.id}  ${rec.name}${rec.tenant ? ` (tenant ${rec.tenant})` : ''}  ${status}  ${limits}`;
}

/**
 * Opens the node's database from the usual flags, runs `fn` with the key store (its changes written as this node's key
 * ops, under its mesh identity), and always closes it.
 */
async function withKeys(
  flags: CommonFlags,
  io: KeysIo,
  fn: (keys: KeyStore, budgets: Budgets, config: ReturnType<typeof configFrom>, meshSpent: (rec: KeyRecord) => number | undefined) => void,
): Promise<void> {
  try {
    const config = configFrom(flags);
    const { peerId } = await nodeIdentity(config.server.dataDir);
    const db = openDatabase(join(config.server.dataDir, 'flowrouter.db'));
    try {
      const m = config.mesh;
      const keys = new KeyStore(db, { origin: peerId, issuers: () => (m.enabled && m.replicateKeys ? m.keyIssuers : null) });
      const budgets = new Budgets(db);
      const others = rememberedSpend(db);
      // Every member's spend as the node last saved it: only meaningful when the mesh shares limits.
      const meshSpent = (rec: KeyRecord) =>
        m.enabled && m.sharedLimits.enabled && rec.budgetUsd !== undefined
          ? (spentOf(budgets, rec) ?? 0) + others(rec.id, rec.budgetPeriod ?? 'month')
          : undefined;
      fn(keys, budgets, config, meshSpent);
    } finally {
      db.close();
    }
  } catch (err) {
    io.fail(err);
  }
}

export function keysCommand(io: KeysIo = processIo): Command {
  const keys = new Command('keys').description('client keys: create, list, revoke, rotate');

  withConfigFlags(keys.command('create').description('issue a client key (printed once; only a salted hash is stored)'))
    .requiredOption('--name <name>', 'client name (unique among active keys)')
    .option('--tenant <tenant>', 'tenant (under tenants: in the config) whose provider accounts this key uses')
    .option('--chains <list>', 'comma-separated chains the key may use')
    .option('--models <list>', 'comma-separated models the key may ask for (a trailing * matches a prefix)')
    .option('--collections <list>', 'comma-separated knowledge collections the key may retrieve from (a trailing * matches a prefix)')
    .option('--budget-usd <usd>', 'spend limit in USD per budget period')
    .option('--budget-period <period>', 'day or month (default month)')
    .option('--rpm <n>', 'requests per minute')
    .option('--tpm <n>', 'tokens per minute')
    .option('--expires <when>', 'a duration (30d, 12h, 45m) or an ISO date')
    .action((flags: CreateFlags) =>
      withKeys(flags, io, (store, _budgets, config) => {
        if (flags.budgetPeriod !== undefined && flags.budgetPeriod !== 'day' && flags.budgetPeriod !== 'month')
          throw new Error('--budget-period: day or month');
        const policy = policyFrom(
          {
            tenant: flags.tenant,
            chains: list(flags.chains),
            models: list(flags.models),
            collections: list(flags.collections),
            budget_usd: number(flags.budgetUsd, '--budget-usd', false),
            budget_period: flags.budgetPeriod,
            rpm: number(flags.rpm, '--rpm', true),
            tpm: number(flags.tpm, '--tpm', true),
            expires: flags.expires,
          },
          config,
        );
        const { key, record } = store.create(flags.name, policy);
        io.out(`Created ${describe(record, undefined)}\n\n  ${key}\n\nStore this key now: it is shown only once.\n`);
      }),
    );

  withConfigFlags(keys.command('ls').description('list keys (never their secrets)'))
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action((flags: CommonFlags & { all?: boolean; json?: boolean }) =>
      withKeys(flags, io, (store, budgets, _config, meshSpent) => {
        const records = store.list({ includeRevoked: flags.all });
        if (flags.json)
          io.out(
            `${JSON.stringify(
              records.map((r) => keyJson(r, spentOf(budgets, r), meshSpent(r))),
              null,
              2,
            )}\n`,
          );
        else io.out(records.length ? `${records.map((r) => describe(r, spentOf(budgets, r), meshSpent(r))).join('\n')}\n` : 'no keys\n');
      }),
    );

  withConfigFlags(keys.command('revoke').description('revoke a key at once').argument('<id-or-name>')).action((idOrName: string, flags: CommonFlags) =>
    withKeys(flags, io, (store) => {
      const rec = store.revoke(idOrName);
      io.out(`Revoked ${rec.id} (${rec.name})\n`);
    }),
  );

  withConfigFlags(
    keys.command('rotate').description('give a key a new secret; the old one stops working, limits and spend stay').argument('<id-or-name>'),
  ).action((idOrName: string, flags: CommonFlags) =>
    withKeys(flags, io, (store) => {
      const { key, record } = store.rotate(idOrName);
      io.out(`Rotated ${record.id} (${record.name})\n\n  ${key}\n\nStore this key now: it is shown only once.\n`);
    }),
  );

  return keys;
}
