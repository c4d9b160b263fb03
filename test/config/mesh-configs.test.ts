// The ready configs shipped in mesh-configs/ load as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, loadNodeConfig } from '../../src/config/index.ts';

const dir = join(import.meta.dirname, '../../mesh-configs');
const BOOTSTRAP = '/ip4/10.0.0.1/tcp/2403/p2p/12D3KooWFiQrXSJykVHrmE67XSEC6XnTtsXWscLs8PVXg8A5wr2x';
const env = { OPENAI_API_KEY: 'sk-test', FLOWROUTER_ADMIN_KEY: 'admin-key-0123456789abcdef', FLOWROUTER_BOOTSTRAP: BOOTSTRAP };

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  test(`mesh-configs/${file} loads and resolves`, () => {
    const config = loadConfigFile(join(dir, file), env, { dataDir: '/tmp/flowrouter-configs', checkBootstrap: true });
    assert.ok(config.chains.get('default'), 'has a default chain');
  });
}

test('the Pi configs enable the mesh with a secret and require auth off loopback', () => {
  for (const file of ['pi-bootstrap.yaml', 'pi-peer.yaml']) {
    const config = loadConfigFile(join(dir, file), env, { dataDir: '/var/lib/flowrouter' });
    assert.equal(config.mesh.enabled, true);
    assert.equal(config.mesh.secretFile, '/var/lib/flowrouter/mesh.key');
    assert.equal(config.auth.mode, 'required');
  }
  const peer = loadConfigFile(join(dir, 'pi-peer.yaml'), env, { bootstrap: [BOOTSTRAP], meshPort: 4001, checkBootstrap: true });
  assert.deepEqual(peer.mesh.bootstrap, [BOOTSTRAP]);
  assert.deepEqual(peer.mesh.listen, ['/ip4/0.0.0.0/tcp/4001']);
});

test('pi-peer.yaml started without --bootstrap or FLOWROUTER_BOOTSTRAP says so, with its file and line', () => {
  const file = join(dir, 'pi-peer.yaml');
  assert.throws(
    () => loadNodeConfig(file, { dataDir: '/tmp/flowrouter-configs', checkBootstrap: true }, { ...env, FLOWROUTER_BOOTSTRAP: '' }),
    (err: Error) =>
      err instanceof ConfigError
      && new RegExp(
        `^${file.replaceAll('.', '\\.')}:\\d+:\\d+: mesh\\.bootstrap\\[0\\]: .* is still the placeholder from mesh-configs/pi-peer\\.yaml: start with --bootstrap`,
      ).test(err.message),
  );
});

test('the Pi configs ask their peers after the local model and before the knowledge answer', () => {
  for (const file of ['pi-bootstrap.yaml', 'pi-peer.yaml']) {
    const config = loadConfigFile(join(dir, file), env, { dataDir: '/var/lib/flowrouter' });
    assert.deepEqual(
      config.chains.get('default')!.targets.map((t) => t.kind),
      ['provider', 'mesh', 'knowledge'],
      file,
    );
  }
  const single = loadConfigFile(join(dir, 'single-node.yaml'), env, { dataDir: '/tmp/flowrouter-configs' });
  assert.equal(
    single.chains.get('default')!.targets.some((t) => t.kind === 'mesh'),
    false,
    'no mesh, no mesh target',
  );
});
