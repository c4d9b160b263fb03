// Safe defaults: loopback unless configured, and a loud warning when a node is reachable from elsewhere without required keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposureWarnings, isLoopback } from '../../src/tenancy/index.ts';
import { chat, startNode } from './setup.ts';
import { loadNodeConfig } from '../../src/config/index.ts';

const chains = `
chains:
  default:
    - model: gpt-4
      provider: local
      url: http://127.0.0.1:9/v1
`;

test('the default config listens on 127.0.0.1', () => {
  assert.equal(loadNodeConfig(undefined, { dataDir: '/tmp/unused' }, {}).server.host, '127.0.0.1');
});

test('loopback hosts are recognised', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.org', '::ffff:10.0.0.1']) assert.equal(isLoopback(h), false, h);
});

test('binding a non-loopback host without auth required prints a loud warning at start', async () => {
  const gw = await startNode(chains, { host: '0.0.0.0' });
  try {
    assert.match(gw.logs(), /WARNING: flowrouter listens on 0\.0\.0\.0.*auth.*mode: required/);
    // Still served (on loopback here, since 0.0.0.0 includes it).
    assert.equal((await chat(gw.url, undefined)).status, 502);
  } finally {
    await gw.stop();
  }
});

test('no warning on loopback, nor with auth required', async () => {
  const local = await startNode(chains);
  const guarded = await startNode(`auth: { mode: required }\n${chains}`, { host: '0.0.0.0' });
  try {
    assert.equal(local.logs().includes('WARNING'), false);
    assert.equal(guarded.logs().includes('WARNING'), false);
    assert.deepEqual(exposureWarnings('0.0.0.0', { mode: 'optional' }).length, 1);
  } finally {
    await local.stop();
    await guarded.stop();
  }
});
