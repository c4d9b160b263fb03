// Client keys in SQLite: issued once, stored only as a salted HMAC, found by their id prefix and checked in constant time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../core/database.ts';
import { migrate } from '../core/database.ts';
import { ClientError, NotFoundError } from '../core/errors.ts';
import { TENANCY_MIGRATIONS } from './migrations.ts';

export type BudgetPeriod = 'day' | 'month';

/** What a key may do; every field is optional (absent = unrestricted). */
export interface KeyPolicy {
  tenant?: string;
  chains?: string[];
  models?: string[];
  /** Knowledge collections the key may retrieve from (a trailing * matches a prefix); absent = its tenant's grant. */
  collections?: string[];
  rpm?: number;
  tpm?: number;
  budgetUsd?: number;
  budgetPeriod?: BudgetPeriod;
  /** Epoch milliseconds. */
  expiresAt?: number;
}

/** A key as listed: never its secret or hash. */
export interface KeyRecord extends KeyPolicy {
  id: string;
  name: string;
  createdAt: number;
  revokedAt?: number;
  rotatedAt?: number;
}

/** `fr-` + a 16-hex-digit id + 43 base64url characters (32 random bytes). */
const KEY_PREFIX = 'fr-';
const ID_LENGTH = 16;
const KEY_PATTERN = /^fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}$/;

interface KeyRow {
  id: string; name: string; tenant: string | null; salt: Buffer; hash: Buffer; chains: string | null; models: string | null; collections: string | null;
  rpm: number | null; tpm: number | null; budget_usd: number | null; budget_period: string | null;
  expires_at: number | null; created_at: number; revoked_at: number | null; rotated_at: number | null;
}

function hashOf(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret).digest();
}

function recordOf(r: KeyRow): KeyRecord {
  const rec: KeyRecord = { id: r.id, name: r.name, createdAt: r.created_at };
  if (r.tenant !== null) rec.tenant = r.tenant;
  if (r.chains !== null) rec.chains = JSON.parse(r.chains);
  if (r.models !== null) rec.models = JSON.parse(r.models);
  if (r.collections !== null) rec.collections = JSON.parse(r.collections);
  if (r.rpm !== null) rec.rpm = r.rpm;
  if (r.tpm !== null) rec.tpm = r.tpm;
  if (r.budget_usd !== null) { rec.budgetUsd = r.budget_usd; rec.budgetPeriod = (r.budget_period ?? 'month') as BudgetPeriod; }
  if (r.expires_at !== null) rec.expiresAt = r.expires_at;
  if (r.revoked_at !== null) rec.revokedAt = r.revoked_at;
  if (r.rotated_at !== null) rec.rotatedAt = r.rotated_at;
  return rec;
}

/** Why a presented key was refused; callers turn this into one 401 message. */
export type KeyRejection = 'malformed' | 'unknown' | 'revoked' | 'expired';

export interface KeyStoreOptions {
  /** The salted hash keys are stored as; injectable so a test can see that every check hashes exactly once. */
  hash?: (salt: Buffer, secret: string) => Buffer;
}

export class KeyStore {
  private readonly db: Db;
  private readonly byId;
  private readonly activeByName;
  private readonly hash: (salt: Buffer, secret: string) => Buffer;
  /** Checked against when the id is unknown, so a miss costs the same hash and comparison as a wrong secret. */
  private readonly decoy = { salt: randomBytes(16), hash: randomBytes(32) };

  constructor(db: Db, opts: KeyStoreOptions = {}) {
    this.db = db;
    this.hash = opts.hash ?? hashOf;
    migrate(db, TENANCY_MIGRATIONS);
    this.byId = db.prepare<[string], KeyRow>('SELECT * FROM tenancy_keys WHERE id = ?');
    this.activeByName = db.prepare<[string], KeyRow>('SELECT * FROM tenancy_keys WHERE name = ? AND revoked_at IS NULL');
  }

  /** Issues a key; the returned `key` is the only time the secret exists outside the caller. */
  create(name: string, policy: KeyPolicy = {}, now = Date.now()): { key: string; record: KeyRecord } {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new ClientError('key name: 1-64 letters, digits, . _ @ or -', { param: 'name' });
    if (this.activeByName.get(name)) throw new ClientError(`a key named "${name}" already exists (revoke or rotate it)`, { status: 409, code: 'key_exists', param: 'name' });
    if (policy.budgetUsd !== undefined && !(policy.budgetUsd >= 0)) throw new ClientError('budget_usd must be a number ≥ 0', { param: 'budget_usd' });
    for (const [k, v] of [['rpm', policy.rpm], ['tpm', policy.tpm]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ClientError(`${k} must be a positive integer`, { param: k });
    }
    const id = randomBytes(ID_LENGTH / 2).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    this.db.prepare(`INSERT INTO tenancy_keys (id, name, tenant, salt, hash, chains, models, collections, rpm, tpm, budget_usd, budget_period, expires_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      id, name, policy.tenant ?? null, salt, this.hash(salt, secret),
      policy.chains ? JSON.stringify(policy.chains) : null, policy.models ? JSON.stringify(policy.models) : null,
      policy.collections ? JSON.stringify(policy.collections) : null,
      policy.rpm ?? null, policy.tpm ?? null, policy.budgetUsd ?? null,
      policy.budgetUsd !== undefined ? policy.budgetPeriod ?? 'month' : null, policy.expiresAt ?? null, now);
    return { key: `${KEY_PREFIX}${id}${secret}`, record: this.get(id)! };
  }

  get(id: string): KeyRecord | undefined {
    const row = this.byId.get(id);
    return row && recordOf(row);
  }

  /** An active key by id, or by name. */
  find(idOrName: string): KeyRecord {
    const row = this.byId.get(idOrName) ?? this.activeByName.get(idOrName);
    if (!row || row.revoked_at !== null) throw new NotFoundError(`no active key with id or name "${idOrName.slice(0, 64)}"`, 'key_not_found');
    return recordOf(row);
  }

  list(opts: { includeRevoked?: boolean } = {}): KeyRecord[] {
    const sql = `SELECT * FROM tenancy_keys ${opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, name`;
    return this.db.prepare<[], KeyRow>(sql).all().map(recordOf);
  }

  revoke(idOrName: string, now = Date.now()): KeyRecord {
    const rec = this.find(idOrName);
    this.db.prepare('UPDATE tenancy_keys SET revoked_at = ? WHERE id = ?').run(now, rec.id);
    return this.get(rec.id)!;
  }

  /** A new secret for the same key id: policy, spend and usage history stay; the old secret stops working at once. */
  rotate(idOrName: string, now = Date.now()): { key: string; record: KeyRecord } {
    const rec = this.find(idOrName);
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    this.db.prepare('UPDATE tenancy_keys SET salt = ?, hash = ?, rotated_at = ? WHERE id = ?').run(salt, this.hash(salt, secret), now, rec.id);
    return { key: `${KEY_PREFIX}${rec.id}${secret}`, record: this.get(rec.id)! };
  }

  /** Checks a presented key: one primary-key lookup by its id prefix, then one hash and a constant-time comparison, found or not. */
  verify(presented: string, now = Date.now()): { ok: true; record: KeyRecord } | { ok: false; reason: KeyRejection } {
    if (!KEY_PATTERN.test(presented)) return { ok: false, reason: 'malformed' };
    const id = presented.slice(KEY_PREFIX.length, KEY_PREFIX.length + ID_LENGTH);
    const row = this.byId.get(id);
    const { salt, hash } = row ?? this.decoy;
    const matches = timingSafeEqual(this.hash(salt, presented.slice(KEY_PREFIX.length + ID_LENGTH)), hash);
    if (!row || !matches) return { ok: false, reason: 'unknown' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' };
    return { ok: true, record: recordOf(row) };
  }
}

/** `30d`, `12h`, `45m` from now, or an ISO date; returns epoch milliseconds. */
export function parseExpiry(text: string, now = Date.now()): number {
  const rel = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (rel) return now + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new ClientError(`expires: "${text.slice(0, 40)}" is neither a duration (30d, 12h, 45m) nor an ISO date`, { param: 'expires' });
  if (at <= now) throw new ClientError('expires: the date is in the past', { param: 'expires' });
  return at;
}
