// Bootstrap entries are checked when the config loads: exit 2 with file, line and key, and what a valid entry looks like.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOTSTRAP_SHAPE, bootstrapProblem } from '../../src/config/bootstrap.ts';
import { ConfigError, loadNodeConfig, overridesFrom, watchConfig, type NodeConfig } from '../../src/config/index.ts';
import { tempDir } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
const ID = '12D3KooWFiQrXSJykVHrmE67XSEC6XnTtsXWscLs8PVXg8A5wr2x';
const meshYaml = (entries: string[]) => `mesh:
  secret_file: mesh.key
  bootstrap:
${entries.map((e) => `    - "${e}"`).join('\n')}
chains:
  default:
    - { provider: local, model: m, url: http://127.0.0.1:9/v1 }
`;

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'src/cli/entry.ts'), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, FLOWROUTER_CONFIG: '', FLOWROUTER_BOOTSTRAP: '', ...env },
  });
  return { status: r.status, stderr: r.stderr };
}

test('valid bootstrap entries pass: ip4, ip6 and dns with a tcp port and a peer id', () => {
  for (const entry of [
    `/ip4/10.77.0.3/tcp/2403/p2p/${ID}`,
    `/ip6/fd00::3/tcp/2403/p2p/${ID}`,
    `/dns4/pi1.local/tcp/2403/p2p/${ID}`,
    '/ip4/10.0.0.1/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
  ]) {
    assert.equal(bootstrapProblem(entry), null, entry);
  }
});

test('each kind of mistake gets its own explanation and the shape of a valid entry', () => {
  const cases: [string, RegExp][] = [
    ['10.77.0.3:2403', /is host:port; write it as a multiaddr with the node's peer id: \/ip4\/10\.77\.0\.3\/tcp\/2403\/p2p\/<peer id>/],
    ['/ip4/10.77.0.3/tcp/2403', /has no \/p2p\/<peer id>/],
    ['/ip4/192.168.1.10/tcp/2403/p2p/12D3KooWReplaceWithTheBootstrapPeerId', /still the placeholder from mesh-configs\/pi-peer\.yaml: start with --bootstrap/],
    ['/ip4/10.77.0.3/tcp/2403/p2p/12D3KooWnot0base58', /has an invalid peer id "12D3KooWnot0base58"/],
    ['/ip4/300.1.1.1/tcp/2403/p2p/' + ID, /has an invalid ip4 address "300\.1\.1\.1"/],
    ['/ip4/10.0.0.1/udp/2403/p2p/' + ID, /needs \/tcp\/<port>/],
    ['/ip4/10.0.0.1/tcp/70000/p2p/' + ID, /invalid TCP port "70000"/],
    ['/ip4/10.0.0.1/tcp/2403/p2p/' + ID + '/ws', /must end in \/p2p\/<peer id>/],
    ['pi1.local', /is not a multiaddr/],
    ['', /is empty/],
  ];
  for (const [entry, why] of cases) {
    const problem = bootstrapProblem(entry);
    assert.ok(problem, entry);
    assert.match(problem, why);
    assert.ok(problem.endsWith(BOOTSTRAP_SHAPE), problem);
  }
});

test('a wrong entry in the file exits 2 naming file:line and mesh.bootstrap[i]', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'peer.yaml');
    writeFileSync(file, meshYaml([`/ip4/10.77.0.2/tcp/2403/p2p/${ID}`, '10.77.0.3:2403']));
    const r = cli(['check-config', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${file.replaceAll('.', '\\.')}:5:7: mesh\\.bootstrap\\[1\\]: "10\\.77\\.0\\.3:2403" is host:port`));
  } finally {
    dir.remove();
  }
});

test('a wrong --bootstrap flag exits 2 naming the flag; a valid one replaces an unfinished list, which only start checks', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'peer.yaml');
    writeFileSync(file, meshYaml(['/ip4/192.168.1.10/tcp/2403/p2p/12D3KooWReplaceWithTheBootstrapPeerId']));
    const r = cli(['start', '--config', file, '--data-dir', dir.path, '--port', '0', '--bootstrap', '/ip4/10.77.0.3/tcp/2403']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--bootstrap: "\/ip4\/10\.77\.0\.3\/tcp\/2403" has no \/p2p\/<peer id>/);
    const config = loadNodeConfig(file, { ...overridesFrom({ bootstrap: [`/ip4/10.77.0.3/tcp/2403/p2p/${ID}`], dataDir: dir.path }), checkBootstrap: true });
    assert.deepEqual(config.mesh.bootstrap, [`/ip4/10.77.0.3/tcp/2403/p2p/${ID}`]);
    assert.throws(
      () => loadNodeConfig(file, { dataDir: dir.path, checkBootstrap: true }),
      (err: Error) =>
        err instanceof ConfigError && new RegExp(`^${file.replaceAll('.', '\\.')}:4:7: mesh\\.bootstrap\\[0\\]: .*still the placeholder`).test(err.message),
    );
    // Commands that never dial (kb, peers, mesh status) load the file beside a node started with the flag.
    assert.equal(loadNodeConfig(file, { dataDir: dir.path }).mesh.enabled, true);
  } finally {
    dir.remove();
  }
});

test('a config reload keeps working while the file still holds the placeholder the --bootstrap flag replaced', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'peer.yaml');
    writeFileSync(file, meshYaml(['/ip4/192.168.1.10/tcp/2403/p2p/12D3KooWReplaceWithTheBootstrapPeerId']));
    const seen: NodeConfig[] = [];
    const errors: unknown[] = [];
    const watcher = watchConfig({ file, overrides: { dataDir: dir.path }, sighup: false, onConfig: (c) => seen.push(c), onError: (e) => errors.push(e) });
    watcher.reloadNow();
    assert.deepEqual(errors, []);
    assert.equal(seen.length, 1);
  } finally {
    dir.remove();
  }
});
