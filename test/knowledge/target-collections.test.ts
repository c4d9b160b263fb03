// A knowledge target without a collection answers from every collection, but a client key only from those it may read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, call, chat, startNode, type TenancyNode } from '../tenancy/setup.ts';

let gw: TenancyNode;
const ACME = 'The Acme merger closes on the ninth of June';
const GLOBEX = 'The Globex launch codename is Hammock';

before(async () => {
  gw = await startNode(`
auth:
  mode: required
  admin_key: \${ADMIN_KEY}
tenants:
  acme: { collections: ["acme-*"] }
  globex: { collections: [globex-docs] }
chains:
  default:
    - { provider: local, model: m, url: "http://127.0.0.1:9/v1", timeouts: { connect_ms: 200 } }
    - { provider: knowledge, name: offline }
`);
  const docs = await call(gw.url, '/v1/kb/documents', {
    key: ADMIN_KEY,
    body: {
      documents: [
        { id: 'acme-merger', collection: 'acme-docs', text: `${ACME}; the merger is confidential.` },
        { id: 'globex-launch', collection: 'globex-docs', text: `${GLOBEX}; the launch and the merger are confidential.` },
      ],
    },
  });
  assert.ok(docs.status < 300, docs.text);
});

after(async () => {
  await gw?.stop();
});

const answer = async (key: string) => {
  const r = await chat(gw.url, key, { model: 'default', messages: [{ role: 'user', content: 'What is confidential about the merger and the launch?' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-flowrouter-target'), 'offline');
  return r.text;
};

test('a key without a collection grant is answered from every collection', async () => {
  const text = await answer(gw.node.tenancy.keys.create('ops').key);
  assert.ok(text.includes(ACME) && text.includes(GLOBEX), text);
});

test("a tenant's key is answered only from the collections its tenant grants", async () => {
  const globex = await answer(gw.node.tenancy.keys.create('globex-app', { tenant: 'globex' }).key);
  assert.ok(globex.includes(GLOBEX) && !globex.includes(ACME), globex);
  const acme = await answer(gw.node.tenancy.keys.create('acme-app', { tenant: 'acme' }).key);
  assert.ok(acme.includes(ACME) && !acme.includes(GLOBEX), acme);
});
