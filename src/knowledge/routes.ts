// HTTP routes for the knowledge base: add, list, read, delete documents; search; stats. Every route runs the guard first.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.ts';
import { listOf } from './chunk-list.ts';
import { parseDocumentsBody, parseWith, prepareItem } from './ingest/http-body.ts';
import { INLINE_CHUNKS } from './materialize.ts';
import { LARGE_TEXT, type PreparedPut } from './prepare.ts';
import type { KnowledgeStore, PutResult } from './store.ts';

export interface KnowledgeRoutesOptions {
  store: KnowledgeStore;
  /** The admin-key check; throws (e.g. AuthError) to refuse the request. */
  guard?: (request: FastifyRequest) => void | Promise<void>;
  /** Largest accepted POST body in bytes (16 MiB by default). */
  bodyLimit?: number;
}

const listQuery = z.object({
  collection: z.string().optional(),
  tag: z.string().optional(),
  limit: z.coerce.number().int().optional(),
  offset: z.coerce.number().int().optional(),
});
const searchQuery = listQuery.extend({ q: z.string().optional(), mode: z.enum(['all', 'any']).optional() });

const parse = parseWith;

/**
 * Writes prepared documents a few hundred chunks per transaction, yielding the event loop between them: a body of
 * thousands of small documents must not hold it either. (A large document is one write; its chunks are indexed later.)
 */
async function writeInGroups(store: KnowledgeStore, puts: readonly PreparedPut[]): Promise<PutResult[]> {
  const results: PutResult[] = [];
  let group: PreparedPut[] = [];
  let chunks = 0;
  const flush = async () => {
    if (group.length === 0) return;
    if (results.length > 0) await nextTurn();
    results.push(...store.writePrepared(group));
    group = [];
    chunks = 0;
  };
  for (const p of puts) {
    const n = listOf(p.chunks).length;
    if (chunks + n > 2 * INLINE_CHUNKS) await flush();
    group.push(p);
    chunks += n;
  }
  await flush();
  return results;
}

export const knowledgeRoutes: FastifyPluginAsync<KnowledgeRoutesOptions> = async (app, opts) => {
  const { store, guard } = opts;
  if (guard)
    app.addHook('onRequest', async (request) => {
      await guard(request);
    });

  // The body arrives as bytes: a large one is parsed, validated and chunked in the knowledge worker, not here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post('/v1/kb/documents', { bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 }, async (request, reply) => {
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    const now = Date.now();
    const puts = raw.byteLength > LARGE_TEXT ? await store.offload.ingest(raw, now) : parseDocumentsBody(raw).map((item) => prepareItem(item, now));
    const results = await writeInGroups(store, puts);
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
