// Client keys in SQLite: issued once, stored only as a salted HMAC, found by their id prefix and checked in constant time.
// Every change is an op in the key log (key-ops.ts), so keys replicate over the mesh like knowledge documents.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../core/database.ts';
import { migrate } from '../core/database.ts';
import { ClientError, NotFoundError, PermissionError } from '../core/errors.ts';
import { compareHlc, OpLog, type LocalOpListener, type OpPageLimits, type StoredOp, type VersionVector } from '../oplog/index.ts';
import { KEY_TABLES, parseKeyOp, type BudgetPeriod, type KeyOp, type KeyPolicy, type KeyPutPayload, type KeyRevokePayload } from './key-ops.ts';
import { TENANCY_MIGRATIONS } from './migrations.ts';

export type { BudgetPeriod, KeyPolicy };

/** A key as listed: never its secret or hash. */
export interface KeyRecord extends KeyPolicy {
  id: string;
  name: string;
  createdAt: number;
  revokedAt?: number;
  rotatedAt?: number;
  /** The node whose write set the key's current state (its mesh peer id). */
  origin?: string;
}

/** `fr-` + a 16-hex-digit id + 43 base64url characters (32 random bytes). */
const KEY_PREFIX = 'fr-';
const ID_LENGTH = 16;
const KEY_PATTERN = /^fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}$/;
/** The name of a key whose revocation arrived before the key itself (its put fills the row in, still revoked). */
const REVOKED_PLACEHOLDER = '(revoked before it arrived)';

interface KeyRow {
  id: string;
  name: string;
  tenant: string | null;
  salt: Buffer;
  hash: Buffer;
  chains: string | null;
  models: string | null;
  collections: string | null;
  rpm: number | null;
  tpm: number | null;
  budget_usd: number | null;
  budget_period: string | null;
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
  rotated_at: number | null;
  hlc: string | null;
  origin: string | null;
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
  if (r.budget_usd !== null) {
    rec.budgetUsd = r.budget_usd;
    rec.budgetPeriod = (r.budget_period ?? 'month') as BudgetPeriod;
  }
  if (r.expires_at !== null) rec.expiresAt = r.expires_at;
  if (r.revoked_at !== null) rec.revokedAt = r.revoked_at;
  if (r.rotated_at !== null) rec.rotatedAt = r.rotated_at;
  if (r.origin !== null) rec.origin = r.origin;
  return rec;
}

/** The replicated state of a stored key (everything but its revocation, which travels as an op of its own). */
function payloadOf(r: KeyRow): KeyPutPayload {
  const p: KeyPutPayload = { name: r.name, salt: r.salt.toString('base64'), hash: r.hash.toString('base64'), createdAt: r.created_at };
  const rec = recordOf(r);
  for (const k of ['tenant', 'chains', 'models', 'collections', 'rpm', 'tpm', 'budgetUsd', 'budgetPeriod', 'expiresAt', 'rotatedAt'] as const) {
    if (rec[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = rec[k];
  }
  return p;
}

/** Why a presented key was refused; callers turn this into one 401 message. */
export type KeyRejection = 'malformed' | 'unknown' | 'revoked' | 'expired';

export interface KeyStoreOptions {
  /** The salted hash keys are stored as; injectable so a test can see that every check hashes exactly once. */
  hash?: (salt: Buffer, secret: string) => Buffer;
  /** This node's id (its mesh peer id): the origin of its key ops. A node attaches it once its identity is loaded. */
  origin?: string;
  /** The origins whose key ops take effect (`mesh.key_issuers`); null or empty: every member's. */
  issuers?: () => readonly string[] | null;
}

export class KeyStore {
  readonly db: Db;
  private readonly byId;
  private readonly activeByName;
  private readonly legacy;
  private readonly upsert;
  private readonly setRevoked;
  private readonly stamp;
  private readonly hash: (salt: Buffer, secret: string) => Buffer;
  private readonly issuers: () => readonly string[] | null;
  /** Checked against when the id is unknown, so a miss costs the same hash and comparison as a wrong secret. */
  private readonly decoy = { salt: randomBytes(16), hash: randomBytes(32) };
  private log?: OpLog<KeyOp>;

  constructor(db: Db, opts: KeyStoreOptions = {}) {
    this.db = db;
    this.hash = opts.hash ?? hashOf;
    this.issuers = opts.issuers ?? (() => null);
    migrate(db, TENANCY_MIGRATIONS);
    this.byId = db.prepare<[string], KeyRow>('SELECT * FROM tenancy_keys WHERE id = ?');
    this.activeByName = db.prepare<[string], KeyRow>('SELECT * FROM tenancy_keys WHERE name = ? AND revoked_at IS NULL ORDER BY created_at, id');
    this.legacy = db.prepare<[], KeyRow>('SELECT * FROM tenancy_keys WHERE hlc IS NULL ORDER BY created_at, id');
    this.upsert =
      db.prepare(`INSERT INTO tenancy_keys (id, name, tenant, salt, hash, chains, models, collections, rpm, tpm, budget_usd, budget_period, expires_at, created_at, rotated_at, hlc, origin)
      VALUES (@id, @name, @tenant, @salt, @hash, @chains, @models, @collections, @rpm, @tpm, @budgetUsd, @budgetPeriod, @expiresAt, @createdAt, @rotatedAt, @hlc, @origin)
      ON CONFLICT (id) DO UPDATE SET name = excluded.name, tenant = excluded.tenant, salt = excluded.salt, hash = excluded.hash, chains = excluded.chains,
        models = excluded.models, collections = excluded.collections, rpm = excluded.rpm, tpm = excluded.tpm, budget_usd = excluded.budget_usd,
        budget_period = excluded.budget_period, expires_at = excluded.expires_at, created_at = excluded.created_at, rotated_at = excluded.rotated_at,
        hlc = excluded.hlc, origin = excluded.origin`);
    this.setRevoked = db.prepare('UPDATE tenancy_keys SET revoked_at = ? WHERE id = ?');
    this.stamp = db.prepare('UPDATE tenancy_keys SET hlc = ?, origin = ? WHERE id = ?');
    if (opts.origin) this.attach(opts.origin);
  }

  /**
   * Opens the key log under this node's id. Keys written before keys replicated (no HLC yet) become this node's ops
   * now, so they reach the other members too.
   */
  attach(origin: string): void {
    if (this.log) {
      if (this.log.origin !== origin) throw new ClientError(`the key store is already attached to ${this.log.origin}`);
      return;
    }
    const log = new OpLog<KeyOp>(this.db, KEY_TABLES, origin);
    this.log = log;
    log.write(() => {
      for (const row of this.legacy.all()) {
        const op = log.append(row.id, 'put', payloadOf(row));
        this.stamp.run(op.hlc, origin, row.id);
        if (row.revoked_at !== null) log.append(row.id, 'revoke', { revokedAt: row.revoked_at });
      }
    });
  }

  private need(): OpLog<KeyOp> {
    if (!this.log) throw new ClientError('client keys cannot be changed yet: the node is still starting', { status: 503, code: 'keys_not_ready' });
    const issuers = this.issuers();
    if (issuers?.length && !issuers.includes(this.log.origin)) {
      throw new PermissionError(
        `this node may not issue or change client keys: mesh.key_issuers names ${issuers.join(', ')}; use one of those nodes`,
        'not_a_key_issuer',
      );
    }
    return this.log;
  }

  /** Applies one op (ours or a peer's) to `tenancy_keys`; false when it changes nothing (an older put, a later revocation). */
  private materialize(op: KeyOp): boolean {
    const row = this.byId.get(op.docId);
    if (op.kind === 'revoke') {
      const { revokedAt } = op.payload as KeyRevokePayload;
      if (!row) {
        // The revocation came first (from another origin than the key): keep it; the key's put fills the row in, revoked.
        this.upsert.run({ ...emptyRow(op.docId), createdAt: revokedAt, hlc: '', origin: op.origin });
      } else if (row.revoked_at !== null && row.revoked_at <= revokedAt) return false;
      this.setRevoked.run(revokedAt, op.docId);
      return true;
    }
    if (row?.hlc && compareHlc(op.hlc, row.hlc) <= 0) return false;
    const p = op.payload as KeyPutPayload;
    const list = (v?: string[]) => (v ? JSON.stringify(v) : null);
    this.upsert.run({
      id: op.docId,
      name: p.name,
      tenant: p.tenant ?? null,
      salt: Buffer.from(p.salt, 'base64'),
      hash: Buffer.from(p.hash, 'base64'),
      chains: list(p.chains),
      models: list(p.models),
      collections: list(p.collections),
      rpm: p.rpm ?? null,
      tpm: p.tpm ?? null,
      budgetUsd: p.budgetUsd ?? null,
      budgetPeriod: p.budgetUsd !== undefined ? (p.budgetPeriod ?? 'month') : null,
      expiresAt: p.expiresAt ?? null,
      createdAt: p.createdAt,
      rotatedAt: p.rotatedAt ?? null,
      hlc: op.hlc,
      origin: op.origin,
    });
    return true;
  }

  private writeLocal(id: string, kind: KeyOp['kind'], payload: KeyPutPayload | KeyRevokePayload): void {
    const log = this.need();
    log.write(() => {
      this.materialize(log.append(id, kind, payload));
    });
  }

  /** Issues a key; the returned `key` is the only time the secret exists outside the caller. */
  create(name: string, policy: KeyPolicy = {}, now = Date.now()): { key: string; record: KeyRecord } {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new ClientError('key name: 1-64 letters, digits, . _ @ or -', { param: 'name' });
    if (this.activeByName.get(name))
      throw new ClientError(`a key named "${name}" already exists (revoke or rotate it)`, { status: 409, code: 'key_exists', param: 'name' });
    if (policy.budgetUsd !== undefined && !(policy.budgetUsd >= 0)) throw new ClientError('budget_usd must be a number ≥ 0', { param: 'budget_usd' });
    for (const [k, v] of [
      ['rpm', policy.rpm],
      ['tpm', policy.tpm],
    ] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ClientError(`${k} must be a positive integer`, { param: k });
    }
    const id = randomBytes(ID_LENGTH / 2).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const payload: KeyPutPayload = { name, salt: salt.toString('base64'), hash: this.hash(salt, secret).toString('base64'), createdAt: now };
    for (const k of ['tenant', 'chains', 'models', 'collections', 'rpm', 'tpm', 'budgetUsd', 'expiresAt'] as const) {
      if (policy[k] !== undefined) (payload as unknown as Record<string, unknown>)[k] = policy[k];
    }
    if (policy.budgetUsd !== undefined) payload.budgetPeriod = policy.budgetPeriod ?? 'month';
    this.writeLocal(id, 'put', payload);
    return { key: `${KEY_PREFIX}${id}${secret}`, record: this.get(id)! };
  }

  get(id: string): KeyRecord | undefined {
    const row = this.byId.get(id);
    return row && recordOf(row);
  }

  /** An active key by id, or by name (refused when members issued two active keys of that name). */
  find(idOrName: string): KeyRecord {
    let row = this.byId.get(idOrName);
    if (!row) {
      const named = this.activeByName.all(idOrName);
      if (named.length > 1) {
        throw new ClientError(
          `${named.length} active keys are named "${idOrName.slice(0, 64)}" (created on different members): use an id (${named.map((r) => r.id).join(', ')})`,
          { status: 409, code: 'key_name_ambiguous' },
        );
      }
      row = named[0];
    }
    if (!row || row.revoked_at !== null) throw new NotFoundError(`no active key with id or name "${idOrName.slice(0, 64)}"`, 'key_not_found');
    return recordOf(row);
  }

  list(opts: { includeRevoked?: boolean } = {}): KeyRecord[] {
    const sql = `SELECT * FROM tenancy_keys ${opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, name`;
    return this.db.prepare<[], KeyRow>(sql).all().map(recordOf);
  }

  revoke(idOrName: string, now = Date.now()): KeyRecord {
    const rec = this.find(idOrName);
    this.writeLocal(rec.id, 'revoke', { revokedAt: now });
    return this.get(rec.id)!;
  }

  /** A new secret for the same key id: policy, spend and usage history stay; the old secret stops working at once. */
  rotate(idOrName: string, now = Date.now()): { key: string; record: KeyRecord } {
    const rec = this.find(idOrName);
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const row = this.byId.get(rec.id)!;
    this.writeLocal(rec.id, 'put', { ...payloadOf(row), salt: salt.toString('base64'), hash: this.hash(salt, secret).toString('base64'), rotatedAt: now });
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

  // The replicated store the mesh's replicator drives (see mesh/replication/channel.ts).

  get origin(): string {
    if (!this.log) throw new ClientError('the key store has no origin yet');
    return this.log.origin;
  }

  parseOp(input: unknown): KeyOp {
    return parseKeyOp(input);
  }

  /** A peer's op, kept in the log whatever happens (so version vectors stay gap-free), applied if its origin may issue keys. */
  applyRemote(input: unknown, proof: string | null = null): 'applied' | 'stale' | 'duplicate' {
    const log = this.log;
    if (!log) throw new ClientError('the key store has no origin yet');
    const op = parseKeyOp(input);
    return this.db.transaction((): 'applied' | 'stale' | 'duplicate' => {
      if (!log.insertRemote(op, op.payload === null ? null : JSON.stringify(op.payload), proof)) return 'duplicate';
      const issuers = this.issuers();
      if (op.payload === null || (issuers?.length && !issuers.includes(op.origin))) return 'stale';
      return this.materialize(op) ? 'applied' : 'stale';
    })();
  }

  latestHlc(docId: string): string | null {
    return this.log?.latestHlc(docId) ?? null;
  }
  versionVector(): VersionVector {
    return this.log?.versionVector() ?? {};
  }
  storedOpsSince(since: VersionVector, limits: OpPageLimits): StoredOp[] {
    return this.log?.storedOpsSince(since, limits) ?? [];
  }
  setOpProof(origin: string, seq: number, proof: string): void {
    this.log?.setOpProof(origin, seq, proof);
  }
  localSeq(): number {
    return this.log?.localSeq() ?? 0;
  }
  localOpsAfter(seq: number, limits: OpPageLimits): StoredOp[] {
    return this.log?.localOpsAfter(seq, limits) ?? [];
  }
  /** Ops the holder of `since` has not seen, per origin in sequence order, at most `limit`. */
  opsSince(since: VersionVector, limit = 1000): KeyOp[] {
    return this.log?.provenOpsSince(since, limit).map((p) => p.op) ?? [];
  }
  onLocalOp(listener: LocalOpListener<KeyOp>): () => void {
    if (!this.log) throw new ClientError('the key store has no origin yet');
    return this.log.onLocalOp(listener);
  }

  /** Key ops are kept: they are small, and a revocation forgotten could let a late joiner's old put bring its key back. */
  compactTombstones(): { tombstones: number; ops: number } {
    return { tombstones: 0, ops: 0 };
  }
}

function emptyRow(id: string) {
  return {
    id,
    name: REVOKED_PLACEHOLDER,
    tenant: null,
    salt: Buffer.alloc(16),
    hash: Buffer.alloc(32),
    chains: null,
    models: null,
    collections: null,
    rpm: null,
    tpm: null,
    budgetUsd: null,
    budgetPeriod: null,
    expiresAt: null,
    rotatedAt: null,
  };
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
