// The replicable operations: self-contained, JSON-serialisable records of every change to the knowledge base.
import { z } from 'zod';
import { ClientError } from '../core/errors.ts';
import type { LogOp, OpTables, VersionVector } from '../oplog/index.ts';
import type { ChunkSpan } from './chunk.ts';

export type { VersionVector };

/** The knowledge base's op log tables (created by knowledge/002-ops, 003-op-proofs and 006-op-proofs). */
export const KB_TABLES: OpTables = { ops: 'kb_ops', version: 'kb_version', proofs: 'kb_op_proofs' };

export interface PutPayload {
  collection: string;
  source: string;
  title: string;
  tags: string[];
  meta: Record<string, unknown>;
  text: string;
  hash: string;
  updatedAt: number;
  chunks: ChunkSpan[];
}

export interface DeletePayload {
  collection: string;
  source: string;
}

/** A change to one document; its payload is null once compaction dropped a superseded op's content. */
export type KnowledgeOp = LogOp<'put' | 'delete', PutPayload | DeletePayload>;

/** Largest document text (UTF-8 bytes), however it arrives: every op written must be one a peer accepts. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Largest op payload as stored (its JSON: the text escaped, plus chunk spans); a sync peer refuses bigger ops. */
export const MAX_OP_PAYLOAD_BYTES = 48 * 1024 * 1024;

const span = z.object({ heading: z.string(), start: z.number().int().min(0), end: z.number().int().min(0) });
const putPayload = z.object({
  collection: z.string(),
  source: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  meta: z.record(z.string(), z.unknown()),
  text: z.string(),
  hash: z.string(),
  updatedAt: z.number(),
  chunks: z.array(span),
});
const deletePayload = z.object({ collection: z.string(), source: z.string() });
const opSchema = z.object({
  origin: z.string().min(1).max(256),
  seq: z.number().int().positive(),
  hlc: z.string().min(1).max(300),
  docId: z.string(),
  kind: z.enum(['put', 'delete']),
  payload: z.unknown(),
});

/** Checks an op that arrived from elsewhere before it touches the database. */
export function parseOp(input: unknown): KnowledgeOp {
  const r = opSchema.safeParse(input);
  if (!r.success) throw new ClientError(`Malformed knowledge op: ${r.error.issues[0]?.message ?? 'invalid'}`, { code: 'invalid_op' });
  const op = r.data;
  if (op.payload === null) return { ...op, payload: null };
  const p = (op.kind === 'put' ? putPayload : deletePayload).safeParse(op.payload);
  if (!p.success) throw new ClientError(`Malformed ${op.kind} payload: ${p.error.issues[0]?.message ?? 'invalid'}`, { code: 'invalid_op' });
  if (op.kind === 'put') {
    const put = p.data as PutPayload;
    if (put.chunks.some((c) => c.end <= c.start || c.end > put.text.length)) {
      throw new ClientError('Chunk span outside the document text', { code: 'invalid_op' });
    }
  }
  return { ...op, payload: p.data as PutPayload | DeletePayload };
}
