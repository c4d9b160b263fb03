// Client keys as replicated operations: a `put` carries a key's whole state (its salted hash, never its secret, and its
// policy), a `revoke` its revocation. Puts of one key are last-writer-wins by HLC; a revocation is final.
import { z } from 'zod';
import { ClientError } from '../core/errors.ts';
import type { LogOp, OpTables } from '../oplog/index.ts';

export const KEY_TABLES: OpTables = { ops: 'tenancy_ops', version: 'tenancy_version' };

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

/** A key's full state as replicated: what `tenancy_keys` holds for it, the salt and hash base64-encoded. */
export interface KeyPutPayload extends KeyPolicy {
  name: string;
  salt: string;
  hash: string;
  createdAt: number;
  rotatedAt?: number;
}

export interface KeyRevokePayload {
  revokedAt: number;
}

export type KeyOp = LogOp<'put' | 'revoke', KeyPutPayload | KeyRevokePayload>;

const time = z.number().int().min(0).max(8.64e15);
const names = z.array(z.string().min(1).max(256)).max(256);
const base64 = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/)
    .refine((s) => Buffer.from(s, 'base64').length === bytes, `must be ${bytes} bytes`);

const putPayload = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/),
    tenant: z.string().min(1).max(256).optional(),
    salt: base64(16),
    hash: base64(32),
    chains: names.optional(),
    models: names.optional(),
    collections: names.optional(),
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    budgetUsd: z.number().min(0).optional(),
    budgetPeriod: z.enum(['day', 'month']).optional(),
    expiresAt: time.optional(),
    createdAt: time,
    rotatedAt: time.optional(),
  })
  .strict();
const revokePayload = z.object({ revokedAt: time }).strict();
const opSchema = z
  .object({
    origin: z.string().min(1).max(256),
    seq: z.number().int().positive(),
    hlc: z.string().min(1).max(300),
    docId: z.string().regex(/^[0-9a-f]{16}$/),
    kind: z.enum(['put', 'revoke']),
    payload: z.unknown(),
  })
  .strict();

/** Checks a key op that arrived from a peer before it touches the database. */
export function parseKeyOp(input: unknown): KeyOp {
  const r = opSchema.safeParse(input);
  if (!r.success) throw new ClientError(`Malformed key op: ${r.error.issues[0]?.message ?? 'invalid'}`, { code: 'invalid_op' });
  const op = r.data;
  if (op.payload === null) return { ...op, payload: null };
  const p = (op.kind === 'put' ? putPayload : revokePayload).safeParse(op.payload);
  if (!p.success)
    throw new ClientError(`Malformed key ${op.kind} payload: ${p.error.issues[0]?.path.join('.')} ${p.error.issues[0]?.message ?? 'invalid'}`, {
      code: 'invalid_op',
    });
  return { ...op, payload: p.data as KeyPutPayload | KeyRevokePayload };
}
