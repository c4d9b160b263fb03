// HTTP routes for the knowledge base: add, list, read, delete documents; search; stats. Every route runs the guard first.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ClientError, NotFoundError } from '../core/errors.ts';
import { DEFAULT_COLLECTION } from './ids.ts';
import { documentFromText } from './ingest/index.ts';
import type { KnowledgeStore } from './store.ts';

export interface KnowledgeRoutesOptions {
  store: KnowledgeStore;
  /** The admin-key check; throws (e.g. AuthError) to refuse the request. */
  guard?: (request: FastifyRequest) => void | Promise<void>;
  /** Largest accepted POST body in bytes (16 MiB by default). */
  bodyLimit?: number;
}

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
const listQuery = z.object({
  collection: z.string().optional(), tag: z.string().optional(),
  limit: z.coerce.number().int().optional(), offset: z.coerce.number().int().optional(),
});
const searchQuery = listQuery.extend({ q: z.string().optional(), mode: z.enum(['all', 'any']).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.join('.') || what;
  throw new ClientError(`Invalid ${what}: ${path}: ${issue?.message ?? 'invalid'}`, { param: path });
}

export const knowledgeRoutes: FastifyPluginAsync<KnowledgeRoutesOptions> = async (app, opts) => {
  const { store, guard } = opts;
  if (guard) app.addHook('onRequest', async (request) => { await guard(request); });

  app.post('/v1/kb/documents', { bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 }, async (request, reply) => {
    const body = parse(postBody, request.body, 'request body');
    const items = Array.isArray(body) ? body : 'documents' in body ? body.documents : [body];
    if (items.length === 0) throw new ClientError('No documents given', { param: 'documents' });
    const docs = items.map((d) => documentFromText(d.text, {
      format: d.format ?? 'text', source: d.source ?? '', id: d.id, title: d.title,
      collection: d.collection ?? DEFAULT_COLLECTION, tags: d.tags,
    })).map((doc, i) => (items[i].meta ? { ...doc, meta: { ...doc.meta, ...items[i].meta } } : doc));
    const results = store.putMany(docs);
    reply.code(results.some((r) => r.status === 'created') ? 201 : 200);
    return { object: 'list', data: results };
  });

  app.get('/v1/kb/documents', async (request) => {
    const q = parse(listQuery, request.query, 'query');
    return { object: 'list', data: store.list(q) };
  });

  // A wildcard, because stable ids made from paths contain `/`.
  app.get('/v1/kb/documents/*', async (request) => {
    const id = (request.params as Record<string, string>)['*'];
    const doc = store.get(id);
    if (!doc) throw new NotFoundError(`No document with id ${id}`, 'document_not_found');
    return doc;
  });

  app.delete('/v1/kb/documents/*', async (request) => {
    const id = (request.params as Record<string, string>)['*'];
    if (!store.remove(id)) throw new NotFoundError(`No document with id ${id}`, 'document_not_found');
    return { id, deleted: true };
  });

  app.get('/v1/kb/search', async (request) => {
    const q = parse(searchQuery, request.query, 'query');
    const results = store.search(q.q ?? '', { collection: q.collection, tag: q.tag, limit: q.limit, offset: q.offset, mode: q.mode });
    return { object: 'list', query: q.q, data: results };
  });

  app.get('/v1/kb/stats', async () => store.stats());
};
