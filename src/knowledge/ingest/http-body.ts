// The body of POST /v1/kb/documents: parsed (with fastify's prototype-poisoning guard) and validated the same way on
// the main thread or, for a large body, in the knowledge worker; each document then prepared for the store.
import sjson from 'secure-json-parse';
import { z } from 'zod';
import { ClientError } from '../../core/errors.ts';
import { DEFAULT_COLLECTION } from '../ids.ts';
import { LARGE_TEXT, preparePut, type PreparedPut } from '../prepare.ts';
import { documentFromText } from './index.ts';

const documentBody = z.object({
  id: z.string().optional(),
  collection: z.string().optional(),
  title: z.string().optional(),
  source: z.string().max(1024).optional(),
  tags: z.array(z.string().max(128)).max(64).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  text: z.string(),
  format: z.enum(['markdown', 'text', 'html']).optional(),
});
const postBody = z.union([documentBody, z.array(documentBody).max(10_000), z.object({ documents: z.array(documentBody).max(10_000) })]);

export type DocumentItem = z.output<typeof documentBody>;

/** Validates with a schema; the error names the first offending field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.join('.') || what;
  throw new ClientError(`Invalid ${what}: ${path}: ${issue?.message ?? 'invalid'}`, { param: path });
}

/** The documents of a body (one, an array, or `{documents: […]}`), as UTF-8 bytes. */
export function parseDocumentsBody(raw: Uint8Array): DocumentItem[] {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  if (text.trim() === '') throw new ClientError('Invalid JSON body: Body cannot be empty', { code: 'invalid_json' });
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw new ClientError(`Invalid JSON body: ${(err as Error).message}`, { code: 'invalid_json' });
  }
  const body = parseWith(postBody, value, 'request body');
  const items = Array.isArray(body) ? body : 'documents' in body ? body.documents : [body];
  if (items.length === 0) throw new ClientError('No documents given', { param: 'documents' });
  return items;
}

/** One document of the body, parsed in its format, chunked and encoded; a large one packed for the worker boundary. */
export function prepareItem(item: DocumentItem, now: number): PreparedPut {
  const doc = documentFromText(item.text, {
    format: item.format ?? 'text',
    source: item.source ?? '',
    id: item.id,
    title: item.title,
    collection: item.collection ?? DEFAULT_COLLECTION,
    tags: item.tags,
  });
  return preparePut(item.meta ? { ...doc, meta: { ...doc.meta, ...item.meta } } : doc, now, item.text.length > LARGE_TEXT);
}
