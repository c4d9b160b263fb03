// Knowledge collections per key and per tenant: a client key reads only what it was granted, through every way RAG is asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keysCommand } from '../../src/cli/keys.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';
import { ADMIN_KEY, call, chat, startNode, type TenancyNode } from './setup.ts';

let fake: FakeOpenAI;
let gw: TenancyNode;
let globex: string;
let acme: string;

const ACME_SECRET = 'Acme merger closes on the ninth of June';
const GLOBEX_SECRET = 'Globex launch codename is Hammock';
const FAQ = 'Support hours are nine to five on weekdays';
const question = (text: string) => ({ messages: [{ role: 'user', content: text }] });

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startNode(`
auth:
  mode: required
  admin_key: \${ADMIN_KEY}
tenants:
  acme: { collections: ["acme-*"], rag_collection: acme-docs }
  globex: { collections: [globex-docs] }
chains:
  default:
    - model: gpt-4
      provider: openai
      key: sk-shared-0000000000000000
      url: ${fake.url}
  helpdesk:
    rag: { collection: public-faq }
    targets:
      - model: gpt-4
        provider: openai
        key: sk-shared-0000000000000000
        url: ${fake.url}
`);
  const docs = await call(gw.url, '/v1/kb/documents', {
    key: ADMIN_KEY,
    body: {
      documents: [
        { id: 'acme-merger', collection: 'acme-docs', title: 'Acme merger', text: `${ACME_SECRET}. The merger is confidential.` },
        { id: 'acme-board', collection: 'acme-board', title: 'Acme board', text: 'The Acme board meets on Mondays about the merger.' },
        { id: 'globex-launch', collection: 'globex-docs', title: 'Globex launch', text: `${GLOBEX_SECRET}. The launch is confidential.` },
        { id: 'faq-hours', collection: 'public-faq', title: 'Support hours', text: `${FAQ}. Support answers the merger and launch questions too.` },
      ],
    },
  });
  assert.ok(docs.status < 300, docs.text);
  globex = gw.node.tenancy.keys.create('globex-app', { tenant: 'globex' }).key;
  acme = gw.node.tenancy.keys.create('acme-app', { tenant: 'acme' }).key;
});

after(async () => {
  await gw?.stop();
  await fake.close();
});

const lastPrompt = () => JSON.stringify(fake.requests.at(-1)?.body.messages ?? []);

function assertRefused(r: { status: number; json: any; text: string }, before: number) {
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'collection_not_allowed');
  assert.equal(r.json.error.type, 'permission_error');
  assert.equal(r.text.includes(ACME_SECRET), false);
  assert.equal(r.text.includes('acme-merger'), false, 'no passage ids');
  assert.equal(fake.requests.length, before, 'nothing was sent upstream');
}

test("a key naming another tenant's collection in x-flowrouter-rag gets 403 collection_not_allowed and no passages", async () => {
  const before = fake.requests.length;
  assertRefused(await chat(gw.url, globex, question('When does the merger close?'), { 'x-flowrouter-rag': 'acme-docs' }), before);
});

for (const [form, rag] of [
  ['a string', 'acme-docs'],
  ['an object', { collection: 'acme-docs', top_k: 3 }],
] as const) {
  test(`a key naming another tenant's collection in the body's flowrouter.rag (${form}) gets 403`, async () => {
    const before = fake.requests.length;
    assertRefused(await chat(gw.url, globex, { ...question('When does the merger close?'), flowrouter: { rag: rag } }), before);
  });
}

test('a key reading a collection its tenant grants gets the passages', async () => {
  const r = await chat(gw.url, globex, question('What is the launch codename?'), { 'x-flowrouter-rag': 'globex-docs' });
  assert.equal(r.status, 200, r.text);
  assert.match(lastPrompt(), /Hammock/);
  assert.equal(r.headers.get('x-flowrouter-sources')?.startsWith('globex-launch'), true);
});

test("a key's own collections narrow its tenant's grant (prefix patterns included)", async () => {
  const created = await call(gw.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'acme-narrow', tenant: 'acme', collections: ['acme-docs'] } });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.json.collections, ['acme-docs']);
  const narrow = created.json.key as string;
  const before = fake.requests.length;
  const r = await chat(gw.url, narrow, question('When does the board meet?'), { 'x-flowrouter-rag': 'acme-board' });
  assert.equal(r.status, 403, r.text);
  assert.match(r.json.error.message, /key "acme-narrow"/);
  assert.equal(fake.requests.length, before);
  // The tenant's acme-* grant still lets the tenant's other key read acme-board.
  assert.equal((await chat(gw.url, acme, question('When does the board meet?'), { 'x-flowrouter-rag': 'acme-board' })).status, 200);
  assert.match(lastPrompt(), /meets on Mondays/);
});

test("POST /admin/keys refuses collections outside the key's tenant grant, and lists the grant", async () => {
  const r = await call(gw.url, '/admin/keys', { key: ADMIN_KEY, body: { name: 'globex-greedy', tenant: 'globex', collections: ['acme-docs'] } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.param, 'collections');
  const listed = await call(gw.url, '/admin/keys', { key: ADMIN_KEY });
  assert.deepEqual(listed.json.data.find((k: { name: string }) => k.name === 'acme-narrow').collections, ['acme-docs']);
});

test("a chain's configured rag collection is the operator's choice, and a tenant's rag_collection replaces it", async () => {
  const g = await chat(gw.url, globex, { model: 'helpdesk', ...question('What are the support hours for the merger and launch?') });
  assert.equal(g.status, 200, g.text);
  assert.match(lastPrompt(), /Support hours are nine to five/);
  const a = await chat(gw.url, acme, { model: 'helpdesk', ...question('When does the merger close?') });
  assert.equal(a.status, 200, a.text);
  assert.match(lastPrompt(), /merger closes on the ninth of June/);
  assert.doesNotMatch(lastPrompt(), /Support hours/);
});

test('a client key cannot read collections through /v1/kb/* on a node with auth required (operator routes need the admin key)', async () => {
  const r = await call(gw.url, '/v1/kb/search?q=merger&collection=acme-docs', { key: globex });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.text.includes(ACME_SECRET), false);
});

test('flowrouter keys create --collections stores the grant, and the key is held to it', async () => {
  const dir = tempDir('flowrouter-collections-cli-');
  try {
    const config = join(dir.path, 'config.yaml');
    writeFileSync(config, `auth: { mode: required }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`);
    let out = '';
    const errors: unknown[] = [];
    const cmd = keysCommand({
      out: (t) => {
        out += t;
      },
      fail: (e) => {
        errors.push(e);
      },
    });
    cmd.exitOverride();
    await cmd.parseAsync(['create', '--name', 'cli-key', '--collections', 'manuals, faq', '--config', config, '--data-dir', dir.path], { from: 'user' });
    assert.deepEqual(errors, []);
    assert.match(out, /collections=manuals,faq/);
    const key = /fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}/.exec(out)![0];
    const node = await startNode(`auth: { mode: required }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`, {
      dataDir: dir.path,
    });
    try {
      assert.equal((await chat(node.url, key, question('hi'), { 'x-flowrouter-rag': 'manuals' })).status, 200);
      const r = await chat(node.url, key, question('hi'), { 'x-flowrouter-rag': 'secrets' });
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'collection_not_allowed');
    } finally {
      await node.node.stop();
    }
  } finally {
    dir.remove();
  }
});

test('anonymous use on a node without auth keeps reading any collection', async () => {
  const open = await startNode(`auth: { mode: none }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`);
  try {
    const put = await call(open.url, '/v1/kb/documents', {
      body: { id: 'x', collection: 'anything', title: 'Notes', text: 'The canteen serves soup on Fridays.' },
    });
    assert.ok(put.status < 300, put.text);
    const r = await chat(open.url, undefined, question('What does the canteen serve?'), { 'x-flowrouter-rag': 'anything' });
    assert.equal(r.status, 200, r.text);
    assert.match(lastPrompt(), /soup on Fridays/);
  } finally {
    await open.stop();
  }
});

test('a tenant whose rag_collection is outside its own collections is a config error', async () => {
  await assert.rejects(
    startNode(
      `tenants:\n  t: { collections: [a], rag_collection: b }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`,
    ),
    /tenants\.t\.rag_collection: "b" is not among its collections/,
  );
});
