// HTTP routes: add, list, read, delete, search and stats through fastify inject, with the guard run first and OpenAI-shaped errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { openDatabase } from '../../src/core/database.ts';
import { AuthError, renderError } from '../../src/core/errors.ts';
import { KnowledgeStore, knowledgeRoutes } from '../../src/knowledge/index.ts';

async function build(t: { after(fn: () => Promise<void> | void): void }, guard?: (r: { headers: Record<string, unknown> }) => void) {
  const db = openDatabase(':memory:');
  const store = new KnowledgeStore(db, 'node-a');
  const app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    const { status, body, headers } = renderError(err);
    void reply.code(status).headers(headers).send(body);
  });
  await app.register(knowledgeRoutes, { store, guard });
  t.after(async () => {
    await app.close();
    db.close();
  });
  return { app, store };
}

test('POST adds one document, an array or {documents}; re-posting identical content is 200 unchanged', async (t) => {
  const { app } = await build(t);
  const one = await app.inject({
    method: 'POST',
    url: '/v1/kb/documents',
    payload: { collection: 'docs', source: 'guide/setup.md', title: 'Setup', format: 'markdown', tags: ['pi'], text: '# Setup\n\nFlash the SD card.' },
  });
  assert.equal(one.statusCode, 201);
  assert.deepEqual(one.json().data, [{ id: 'docs:guide/setup.md', status: 'created', chunks: 1 }]);
  const again = await app.inject({
    method: 'POST',
    url: '/v1/kb/documents',
    payload: [{ collection: 'docs', source: 'guide/setup.md', title: 'Setup', format: 'markdown', tags: ['pi'], text: '# Setup\n\nFlash the SD card.' }],
  });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().data[0].status, 'unchanged');
  const many = await app.inject({
    method: 'POST',
    url: '/v1/kb/documents',
    payload: { documents: [{ id: 'h1', format: 'html', text: '<p>Hello <b>HTML</b></p>' }, { text: 'anonymous note' }] },
  });
  assert.equal(many.statusCode, 201);
  assert.equal(many.json().data.length, 2);
  assert.match(many.json().data[1].id, /^default:text-[0-9a-f]{16}$/);
});

test('GET lists with filters, reads one by an id containing slashes, DELETE tombstones it, then 404s', async (t) => {
  const { app } = await build(t);
  await app.inject({
    method: 'POST',
    url: '/v1/kb/documents',
    payload: [
      { collection: 'docs', source: 'a/b.md', text: 'alpha', tags: ['t1'] },
      { collection: 'other', source: 'c.md', text: 'gamma' },
    ],
  });
  const list = await app.inject({ method: 'GET', url: '/v1/kb/documents?collection=docs' });
  assert.deepEqual(
    list.json().data.map((d: { id: string }) => d.id),
    ['docs:a/b.md'],
  );
  const tagged = await app.inject({ method: 'GET', url: '/v1/kb/documents?tag=t1' });
  assert.equal(tagged.json().data.length, 1);
  const url = `/v1/kb/documents/${encodeURIComponent('docs:a/b.md')}`;
  const one = await app.inject({ method: 'GET', url });
  assert.equal(one.statusCode, 200);
  assert.equal(one.json().text, 'alpha');
  assert.equal((await app.inject({ method: 'GET', url: '/v1/kb/documents/docs:a/b.md' })).json().id, 'docs:a/b.md');
  const del = await app.inject({ method: 'DELETE', url });
  assert.deepEqual(del.json(), { id: 'docs:a/b.md', deleted: true });
  const gone = await app.inject({ method: 'GET', url });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().error.type, 'not_found_error');
  assert.equal((await app.inject({ method: 'DELETE', url })).statusCode, 404);
});

test('search returns ranked, highlighted results; hostile or empty queries are 400 in the OpenAI error shape', async (t) => {
  const { app } = await build(t);
  await app.inject({
    method: 'POST',
    url: '/v1/kb/documents',
    payload: [
      { id: 'x', collection: 'c', title: 'Routers', text: 'Fallback chains keep requests alive.', tags: ['net'] },
      { id: 'y', collection: 'd', text: 'Chains of custody.' },
    ],
  });
  const res = await app.inject({ method: 'GET', url: `/v1/kb/search?q=${encodeURIComponent('chains')}&collection=c&tag=net&limit=5` });
  assert.equal(res.statusCode, 200);
  const [hit, ...rest] = res.json().data;
  assert.equal(rest.length, 0);
  assert.equal(hit.docId, 'x');
  assert.match(hit.snippet, /\*\*chains\*\*/);
  for (const q of ['', '"', '((', '*', ') - ^ :']) {
    const bad = await app.inject({ method: 'GET', url: `/v1/kb/search?q=${encodeURIComponent(q)}` });
    assert.equal(bad.statusCode, 400, q);
    assert.equal(bad.json().error.type, 'invalid_request_error');
  }
  const huge = await app.inject({ method: 'GET', url: `/v1/kb/search?q=${'a'.repeat(100_000)}` });
  assert.equal(huge.statusCode, 400);
  for (const q of [') AND (', 'NEAR(chains', 'alive AND OR NOT text:', '"unbalanced']) {
    assert.equal((await app.inject({ method: 'GET', url: `/v1/kb/search?q=${encodeURIComponent(q)}` })).statusCode, 200, q);
  }
});

test('invalid bodies are 400s naming the field; stats report the counts', async (t) => {
  const { app } = await build(t);
  const noText = await app.inject({ method: 'POST', url: '/v1/kb/documents', payload: { title: 'x' } });
  assert.equal(noText.statusCode, 400);
  assert.equal(noText.json().error.type, 'invalid_request_error');
  const badId = await app.inject({ method: 'POST', url: '/v1/kb/documents', payload: { id: '../x', text: 't' } });
  assert.equal(badId.json().error.code, 'invalid_document_id');
  await app.inject({ method: 'POST', url: '/v1/kb/documents', payload: { id: 's', text: 'stat me' } });
  const stats = (await app.inject({ method: 'GET', url: '/v1/kb/stats' })).json();
  assert.equal(stats.documents, 1);
  assert.equal(stats.ops, 1);
  assert.ok(stats.bytes > 0);
});

test('the guard runs before every route and its error is rendered', async (t) => {
  const seen: string[] = [];
  const { app, store } = await build(t, (r) => {
    seen.push(String(r.headers['x-test']));
    if (r.headers.authorization !== 'Bearer admin') throw new AuthError('Admin key required');
  });
  const routes = [
    { method: 'POST' as const, url: '/v1/kb/documents', payload: { text: 'x' } },
    { method: 'GET' as const, url: '/v1/kb/documents' },
    { method: 'GET' as const, url: '/v1/kb/documents/x' },
    { method: 'DELETE' as const, url: '/v1/kb/documents/x' },
    { method: 'GET' as const, url: '/v1/kb/search?q=x' },
    { method: 'GET' as const, url: '/v1/kb/stats' },
  ];
  for (const r of routes) {
    const res = await app.inject({ ...r, headers: { 'x-test': r.url } });
    assert.equal(res.statusCode, 401, r.url);
    assert.equal(res.json().error.type, 'authentication_error');
  }
  assert.equal(seen.length, routes.length);
  assert.equal(store.stats().documents, 0);
  const ok = await app.inject({ method: 'GET', url: '/v1/kb/stats', headers: { authorization: 'Bearer admin' } });
  assert.equal(ok.statusCode, 200);
});
