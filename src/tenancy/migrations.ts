// Tenancy tables: client keys (salted hashes only, with their knowledge-collection grants), the key log that replicates
// them, and each key's settled spend per budget period.
import type { Migration } from '../core/database.ts';
import { opTableSql } from '../oplog/index.ts';
import { KEY_TABLES } from './key-ops.ts';

export const TENANCY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'tenancy/001-keys',
    up: `
      CREATE TABLE tenancy_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tenant TEXT,
        salt BLOB NOT NULL,
        hash BLOB NOT NULL,
        chains TEXT,
        models TEXT,
        rpm INTEGER,
        tpm INTEGER,
        budget_usd REAL,
        budget_period TEXT,
        expires_at INTEGER,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        rotated_at INTEGER
      );
      CREATE UNIQUE INDEX tenancy_keys_active_name ON tenancy_keys (name) WHERE revoked_at IS NULL;`,
  },
  {
    id: 'tenancy/002-spend',
    up: `
      CREATE TABLE tenancy_spend (
        key_id TEXT NOT NULL,
        period TEXT NOT NULL,
        usd REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (key_id, period)
      );`,
  },
  {
    id: 'tenancy/003-collections',
    up: 'ALTER TABLE tenancy_keys ADD COLUMN collections TEXT',
  },
  {
    id: 'tenancy/004-key-log',
    // Keys replicate: each row remembers the HLC and origin of the op that set it. Members may each issue a key of the
    // same name while apart, so names are unique per node at creation, not by an index.
    up: `
      ALTER TABLE tenancy_keys ADD COLUMN hlc TEXT;
      ALTER TABLE tenancy_keys ADD COLUMN origin TEXT;
      DROP INDEX tenancy_keys_active_name;
      CREATE INDEX tenancy_keys_name ON tenancy_keys (name, revoked_at);
      ${opTableSql(KEY_TABLES, { kinds: ['put', 'revoke'] })}`,
  },
  {
    id: 'tenancy/005-shared-limits',
    // What a node heard of the other members' counters and must not forget over a restart (see shared/store.ts).
    up: `
      CREATE TABLE tenancy_mesh_members (peer TEXT PRIMARY KEY, last_seen INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE tenancy_mesh_spend (
        peer TEXT NOT NULL, key_id TEXT NOT NULL, period TEXT NOT NULL, usd REAL NOT NULL,
        PRIMARY KEY (peer, key_id, period)
      ) WITHOUT ROWID;`,
  },
];
