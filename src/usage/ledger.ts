// The usage ledger: one row per chat request, queued in memory and written in batched transactions, with a journal for crashes.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { restrictFile } from '../core/private-files.ts';
import { migrate, type Db } from '../core/database.ts';
import { migrateRollup, UsageRetention } from './retention.ts';

const MIGRATIONS = [
  {
    id: 'usage/001-ledger',
    up: `CREATE TABLE usage_ledger (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    chain TEXT, target TEXT, provider TEXT, model TEXT, client_id TEXT,
    fingerprint TEXT NOT NULL,
    stream INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,
    usage_source TEXT NOT NULL,
    cost REAL NOT NULL, cost_saved REAL NOT NULL,
    latency_ms REAL NOT NULL, first_byte_ms REAL,
    status INTEGER NOT NULL, error_code TEXT,
    cache TEXT NOT NULL,
    tokens_saved INTEGER NOT NULL
  );
  CREATE INDEX usage_ledger_ts ON usage_ledger (ts);
  CREATE UNIQUE INDEX usage_ledger_request ON usage_ledger (request_id);`,
  },
  {
    // Prompt tokens written to the provider's prompt cache, billed apart from cache reads (cached_tokens) and the rest.
    id: 'usage/002-cache-write',
    up: 'ALTER TABLE usage_ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0',
  },
  {
    // The mesh peer a request was forwarded by (the row's client is the key it was made for, or `peer:<id>`).
    id: 'usage/004-via-peer',
    up: 'ALTER TABLE usage_ledger ADD COLUMN via_peer TEXT',
  },
];

export interface UsageRow {
  ts: number;
  requestId: string;
  chain: string | null;
  target: string | null;
  provider: string | null;
  model: string | null;
  clientId: string | null;
  /** For a request a mesh peer forwarded here: that peer (it counted and billed the request where it entered the mesh). */
  viaPeer?: string | null;
  fingerprint: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens read from the provider's prompt cache (all counted in promptTokens too). */
  cachedTokens: number;
  /** Prompt tokens written to the provider's prompt cache (counted in promptTokens too); 0 when not given. */
  cacheWriteTokens?: number;
  /** `provider`: the upstream's usage; `estimated`: counted with gpt-tokenizer; `none`: nothing to count (early error). */
  usageSource: 'provider' | 'estimated' | 'none';
  cost: number;
  /** For a cache hit: what the answer would have cost upstream. */
  costSaved: number;
  latencyMs: number;
  firstByteMs: number | null;
  status: number;
  errorCode: string | null;
  cache: 'hit' | 'miss' | 'bypass';
  /** Tokens not sent upstream: normalization's saving, or the whole call for a cache hit. */
  tokensSaved: number;
}

export interface LedgerOptions {
  /** Queued rows are committed in one transaction this often. */
  flushMs: number;
  /**
   * An append-only file each row is written to (one write(2), no fsync) before record() returns, and which is
   * emptied once its rows are committed and it has grown past JOURNAL_RESET_BYTES: a killed process leaves its
   * unflushed rows here, replayed on the next start (rows already committed are ignored by request id).
   * Without it, a crash loses up to flushMs of rows.
   */
  journal?: string;
  /** Raw rows older than this many days are rolled up into daily totals (see retention.ts); unset keeps them all. */
  retentionDays?: number;
}

/**
 * Emptying the journal after every commit would truncate a file to zero many times a second, which ext4 answers by
 * starting writeback (its replace-by-truncate heuristic). Committed rows left in it are harmless (a replay ignores
 * them by request id), so it is emptied only once this big, and at a clean stop.
 */
const JOURNAL_RESET_BYTES = 1024 * 1024;

export class UsageLedger {
  private readonly db: Db;
  private readonly opts: LedgerOptions;
  private queue: UsageRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly insertMany: (rows: UsageRow[]) => void;
  private journalFd: number | null = null;
  private journalBytes = 0;
  private readonly retention?: UsageRetention;

  constructor(db: Db, opts: LedgerOptions) {
    this.db = db;
    this.opts = opts;
    migrate(db, MIGRATIONS);
    migrateRollup(db);
    // A replayed journal may repeat rows already committed just before a crash: the request id makes them no-ops.
    // Positional parameters: binding an object by name costs a property lookup per column on every row.
    const insert = db.prepare(`INSERT OR IGNORE INTO usage_ledger (ts, request_id, chain, target, provider, model, client_id, fingerprint, stream,
      prompt_tokens, completion_tokens, cached_tokens, usage_source, cost, cost_saved, latency_ms, first_byte_ms, status, error_code, cache, tokens_saved,
      cache_write_tokens, via_peer) VALUES (${Array(23).fill('?').join(', ')})`);
    this.insertMany = db.transaction((rows: UsageRow[]) => {
      for (const r of rows) {
        insert.run(
          r.ts,
          r.requestId,
          r.chain,
          r.target,
          r.provider,
          r.model,
          r.clientId,
          r.fingerprint,
          r.stream ? 1 : 0,
          r.promptTokens,
          r.completionTokens,
          r.cachedTokens,
          r.usageSource,
          r.cost,
          r.costSaved,
          r.latencyMs,
          r.firstByteMs,
          r.status,
          r.errorCode,
          r.cache,
          r.tokensSaved,
          r.cacheWriteTokens ?? 0,
          r.viaPeer ?? null,
        );
      }
    });
    if (opts.journal) {
      this.replay(opts.journal);
      // The journal holds client ids and token counts: owner-only like the database.
      restrictFile(opts.journal);
      this.journalFd = openSync(opts.journal, 'a');
    }
    if (opts.retentionDays !== undefined) {
      // Its timer is unref'd and stopped by stop(), like the flush timer.
      this.retention = new UsageRetention(db, { days: opts.retentionDays });
      this.retention.start();
    }
  }

  /** Commits the rows a killed process left in the journal (a torn last line is skipped), then empties it. */
  private replay(file: string): void {
    if (!existsSync(file)) return;
    const rows: UsageRow[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        rows.push(JSON.parse(line));
      } catch {
        /* the write the kill interrupted */
      }
    }
    if (rows.length > 0) this.insertMany(rows);
    const fd = openSync(file, 'r+');
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  }

  get database(): Db {
    return this.db;
  }

  record(row: UsageRow): void {
    if (this.journalFd !== null) this.journalBytes += writeSync(this.journalFd, `${JSON.stringify(row)}\n`);
    this.queue.push(row);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.opts.flushMs);
  }

  /** Writes every queued row in one transaction; everything in the journal is now committed, so it may be emptied. */
  flush(): void {
    if (this.queue.length === 0 || !this.db.open) return;
    const rows = this.queue;
    this.queue = [];
    this.insertMany(rows);
    if (this.journalBytes >= JOURNAL_RESET_BYTES) this.resetJournal();
  }

  private resetJournal(): void {
    if (this.journalFd === null) return;
    ftruncateSync(this.journalFd, 0);
    this.journalBytes = 0;
  }

  stop(): void {
    this.retention?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
    // Only a journal whose rows are all committed may be emptied (the database may already be closed).
    if (this.queue.length === 0) this.resetJournal();
    if (this.journalFd !== null) closeSync(this.journalFd);
    this.journalFd = null;
  }
}
