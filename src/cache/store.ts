// The response cache's storage: SQLite rows with a checksum, an in-memory LRU index over them, bounded in entries and bytes.
import { createHash } from 'node:crypto';
import type { ChatResponse } from '../core/openai.ts';
import { migrate, type Db } from '../core/database.ts';

const MIGRATIONS = [
  {
    id: 'cache/001-entries',
    up: `CREATE TABLE cache_entries (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    checksum TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used INTEGER NOT NULL
  )`,
  },
];

/** An entry as it travels between nodes (mesh replication): the body is verified against its checksum on import. */
export interface CacheEntry {
  key: string;
  body: string;
  checksum: string;
  createdAt: number;
  expiresAt: number;
}

export interface CacheStoreOptions {
  maxEntries: number;
  maxBytes: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
}

/** What is cached: the answer and the target that gave it (named in a hit's headers and usage row). */
export interface CachedAnswer {
  response: ChatResponse;
  target?: string;
}

interface IndexEntry {
  expiresAt: number;
  bytes: number;
  usedAt: number;
}

export function checksumOf(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

function parseAnswer(body: string): CachedAnswer | undefined {
  try {
    const answer = JSON.parse(body) as CachedAnswer;
    return answer && Array.isArray(answer.response?.choices) ? answer : undefined;
  } catch {
    return undefined;
  }
}

export class CacheStore {
  private readonly db: Db;
  private readonly opts: Required<CacheStoreOptions>;
  /** Map order is recency order: the first key is the least recently used. */
  private readonly index = new Map<string, IndexEntry>();
  private bytes = 0;
  private readonly setListeners = new Set<(key: string) => void>();
  private readonly stmts;

  constructor(db: Db, opts: CacheStoreOptions) {
    this.db = db;
    this.opts = { now: Date.now, ...opts };
    migrate(db, MIGRATIONS);
    this.stmts = {
      get: db.prepare<[string], { body: string; checksum: string; created_at: number; expires_at: number }>(
        'SELECT body, checksum, created_at, expires_at FROM cache_entries WHERE key = ?',
      ),
      put: db.prepare('INSERT OR REPLACE INTO cache_entries (key, body, checksum, created_at, expires_at, last_used) VALUES (?, ?, ?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM cache_entries WHERE key = ?'),
      touch: db.prepare('UPDATE cache_entries SET last_used = ? WHERE key = ?'),
    };
    this.loadIndex();
  }

  /** Rebuilds the LRU index after a restart, oldest use first, dropping what has expired. */
  private loadIndex(): void {
    const now = this.opts.now();
    this.db.prepare('DELETE FROM cache_entries WHERE expires_at <= ?').run(now);
    const rows = this.db
      .prepare<[], { key: string; expires_at: number; bytes: number; last_used: number }>(
        'SELECT key, expires_at, length(CAST(body AS BLOB)) AS bytes, last_used FROM cache_entries ORDER BY last_used',
      )
      .all();
    for (const r of rows) this.remember(r.key, { expiresAt: r.expires_at, bytes: r.bytes, usedAt: r.last_used });
    this.evict();
  }

  private remember(key: string, e: IndexEntry): void {
    const old = this.index.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.index.delete(key);
    }
    this.index.set(key, e);
    this.bytes += e.bytes;
  }

  private forget(key: string): void {
    const old = this.index.get(key);
    if (!old) return;
    this.bytes -= old.bytes;
    this.index.delete(key);
    this.stmts.del.run(key);
  }

  private evict(): void {
    for (const key of this.index.keys()) {
      if (this.index.size <= this.opts.maxEntries && this.bytes <= this.opts.maxBytes) break;
      this.forget(key);
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.index.size, bytes: this.bytes };
  }

  /** A live, intact response, or undefined; an expired or corrupted row is deleted on the way. */
  get(key: string): CachedAnswer | undefined {
    const e = this.index.get(key);
    if (!e) return undefined;
    const now = this.opts.now();
    if (e.expiresAt <= now) {
      this.forget(key);
      return undefined;
    }
    const row = this.stmts.get.get(key);
    if (!row || checksumOf(row.body) !== row.checksum) {
      this.forget(key);
      return undefined;
    }
    const answer = parseAnswer(row.body);
    if (!answer) {
      this.forget(key);
      return undefined;
    }
    this.index.delete(key);
    e.usedAt = now;
    this.index.set(key, e);
    return answer;
  }

  set(key: string, answer: CachedAnswer, ttlS: number): void {
    if (ttlS <= 0) return;
    const body = JSON.stringify(answer);
    const now = this.opts.now();
    this.write({ key, body, checksum: checksumOf(body), createdAt: now, expiresAt: now + ttlS * 1000 });
    for (const l of this.setListeners) l(key);
  }

  /** Calls `listener` after every local `set` (not imports), so the mesh can replicate new entries. */
  onSet(listener: (key: string) => void): () => void {
    this.setListeners.add(listener);
    return () => {
      this.setListeners.delete(listener);
    };
  }

  private write(entry: CacheEntry): void {
    const bytes = Buffer.byteLength(entry.body);
    if (bytes > this.opts.maxBytes) return;
    const now = this.opts.now();
    this.stmts.put.run(entry.key, entry.body, entry.checksum, entry.createdAt, entry.expiresAt, now);
    this.remember(entry.key, { expiresAt: entry.expiresAt, bytes, usedAt: now });
    this.evict();
  }

  delete(key: string): void {
    this.forget(key);
  }

  /** The stored entry, for replication to a peer. */
  exportEntry(key: string): CacheEntry | undefined {
    const e = this.index.get(key);
    if (!e || e.expiresAt <= this.opts.now()) return undefined;
    const row = this.stmts.get.get(key);
    if (!row || checksumOf(row.body) !== row.checksum) {
      this.forget(key);
      return undefined;
    }
    return { key, body: row.body, checksum: row.checksum, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  /** Stores an entry from a peer when it is intact and still live; returns whether it was taken. */
  importEntry(entry: CacheEntry): boolean {
    if (!/^[0-9a-f]{64}$/.test(entry.key) || entry.expiresAt <= this.opts.now() || checksumOf(entry.body) !== entry.checksum) return false;
    if (!parseAnswer(entry.body)) return false;
    this.write(entry);
    return true;
  }

  /** Writes recency back so LRU order survives a restart. */
  persistRecency(): void {
    if (!this.db.open) return;
    this.db.transaction(() => {
      for (const [key, e] of this.index) this.stmts.touch.run(e.usedAt, key);
    })();
  }
}
