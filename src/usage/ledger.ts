// The usage ledger: one row per chat request, queued in memory and written in batched transactions.
import { migrate, type Db } from '../core/database.ts';

const MIGRATIONS = [{
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
  CREATE INDEX usage_ledger_ts ON usage_ledger (ts);`,
}];

export interface UsageRow {
  ts: number;
  requestId: string;
  chain: string | null;
  target: string | null;
  provider: string | null;
  model: string | null;
  clientId: string | null;
  fingerprint: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
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
  /** `ack`: every record() commits before returning (with whatever is queued); `batch`: a timer flushes the queue. */
  write: 'ack' | 'batch';
  flushMs: number;
}

export class UsageLedger {
  private readonly db: Db;
  private readonly opts: LedgerOptions;
  private queue: UsageRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly insertMany: (rows: UsageRow[]) => void;

  constructor(db: Db, opts: LedgerOptions) {
    this.db = db;
    this.opts = opts;
    migrate(db, MIGRATIONS);
    const insert = db.prepare(`INSERT INTO usage_ledger (ts, request_id, chain, target, provider, model, client_id, fingerprint, stream,
      prompt_tokens, completion_tokens, cached_tokens, usage_source, cost, cost_saved, latency_ms, first_byte_ms, status, error_code, cache, tokens_saved)
      VALUES (@ts, @requestId, @chain, @target, @provider, @model, @clientId, @fingerprint, @stream, @promptTokens, @completionTokens,
      @cachedTokens, @usageSource, @cost, @costSaved, @latencyMs, @firstByteMs, @status, @errorCode, @cache, @tokensSaved)`);
    this.insertMany = db.transaction((rows: UsageRow[]) => {
      for (const r of rows) insert.run({ ...r, stream: r.stream ? 1 : 0 });
    });
  }

  get database(): Db {
    return this.db;
  }

  record(row: UsageRow): void {
    this.queue.push(row);
    if (this.opts.write === 'ack') this.flush();
    else this.timer ??= setTimeout(() => { this.timer = null; this.flush(); }, this.opts.flushMs);
  }

  /** Writes every queued row in one transaction. */
  flush(): void {
    if (this.queue.length === 0 || !this.db.open) return;
    const rows = this.queue;
    this.queue = [];
    this.insertMany(rows);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }
}
