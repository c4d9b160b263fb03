// The node's one SQLite database (WAL): each capability registers its own migrations and prepares its own statements.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir, restrictFile } from './private-files.ts';

export type Db = Database.Database;

export interface Migration {
  /** Unique, stable id: `<capability>/<nnn>-<what>`, e.g. `knowledge/001-docs`. */
  id: string;
  up: string | ((db: Db) => void);
}

/**
 * Opens (creating when needed) the database file in WAL mode with the pragmas a long-running node wants. The file holds
 * key hashes, cached answers and usage, so it is owner-only; SQLite gives its -wal and -shm files the database's mode.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') {
    ensurePrivateDir(dirname(file));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (f === file || existsSync(f)) restrictFile(f);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  return db;
}

/** Applies, in order and each in its own transaction, the migrations this database has not seen yet. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  const seen = db.prepare('SELECT 1 FROM migrations WHERE id = ?');
  const record = db.prepare('INSERT INTO migrations (id, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (seen.get(m.id)) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.id, Date.now());
    })();
  }
}
