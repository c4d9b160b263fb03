// Config loading: the seed example as written, ${VAR} substitution, defaults from the schema, and flags over the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig, overridesFrom, loadNodeConfig } from '../../src/config/index.ts';

const SEED = `chains:
  default:
    - model: gpt-4
      provider: openai
      key: \${OPENAI_KEY}
    - model: claude-3-sonnet
      provider: anthropic
      key: \${ANTHROPIC_KEY}
    - model: mistral-7b
      provider: local
      url: http://127.0.0.1:8000/v1
`;

const LOCAL = 'chains:\n  default:\n    - model: m\n      provider: local\n';

test('the seed config loads exactly as written', () => {
  const config = parseConfig(SEED, 'my.yaml', { OPENAI_KEY: 'sk-o', ANTHROPIC_KEY: 'sk-a' }, { dataDir: '/tmp/x' });
  const chain = config.chains.get('default')!;
  assert.deepEqual(
    chain.targets.map((t) => [t.account!.type, t.model]),
    [
      ['openai', 'gpt-4'],
      ['anthropic', 'claude-3-sonnet'],
      ['local', 'mistral-7b'],
    ],
  );
  assert.equal(chain.targets[0].account!.key, 'sk-o');
  assert.equal(chain.targets[2].account!.baseUrl, 'http://127.0.0.1:8000/v1');
  assert.equal(chain.targets[0].id, 'default/openai/gpt-4');
  assert.equal(config.server.port, 2402);
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.source, 'my.yaml');
});

test('a missing environment variable names the variable, file and line', () => {
  assert.throws(
    () => parseConfig(SEED, 'my.yaml', { OPENAI_KEY: 'x' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^my\.yaml:8:\d+: environment variable ANTHROPIC_KEY is not set/);
      return true;
    },
  );
});

test('${VAR:-default} falls back when the variable is unset', () => {
  const config = parseConfig('chains:\n  default:\n    - model: m\n      provider: local\n      url: ${LOCAL_URL:-http://127.0.0.1:9/v1}\n', 'c.yaml', {});
  assert.equal(config.chains.get('default')!.targets[0].account!.baseUrl, 'http://127.0.0.1:9/v1');
});

test('a whole ${VAR} in a plain scalar takes the type it would have had written in place; quoted stays a string', () => {
  const config = parseConfig('server:\n  port: ${PORT}\nchains:\n  default:\n    - model: m\n      provider: local\n      key: "${KEY}"\n', 'c.yaml', {
    PORT: '8123',
    KEY: '12345',
  });
  assert.equal(config.server.port, 8123);
  assert.equal(config.chains.get('default')!.targets[0].account!.key, '12345');
});

test('a key left empty (YAML null) or set from an empty variable means no key', () => {
  const yaml =
    'auth:\n  admin_key:\nchains:\n  default:\n    - model: m\n      provider: openai\n      key:\n    - model: n\n      provider: openai\n      key: ${OPENAI_KEY:-}\n';
  const config = parseConfig(yaml, 'c.yaml', {});
  const [a, b] = config.chains.get('default')!.targets;
  assert.equal(a.account!.key, undefined);
  assert.equal(b.account!.key, undefined);
  assert.equal(config.auth.adminKey, undefined);
});

test('named accounts are reusable across chains and may be specialised per target', () => {
  const config = parseConfig(
    `providers:
  work:
    type: openai
    key: sk-work
    org: org-1
    headers: { x-team: a }
    timeouts: { connect_ms: 1234 }
chains:
  a: [{ model: gpt-4o, provider: work }]
  b: [{ model: gpt-4o-mini, provider: work, project: proj-2, headers: { x-env: b }, timeouts: { total_ms: 9 } }]
`,
    'c.yaml',
    {},
  );
  const a = config.chains.get('a')!.targets[0].account!;
  const b = config.chains.get('b')!.targets[0].account!;
  assert.equal(a.key, 'sk-work');
  assert.equal(a.org, 'org-1');
  assert.equal(a.project, undefined);
  assert.equal(b.key, 'sk-work');
  assert.equal(b.project, 'proj-2');
  assert.deepEqual(b.headers, { 'x-team': 'a', 'x-env': 'b' });
  assert.deepEqual(b.timeouts, { connectMs: 1234, firstByteMs: 60_000, totalMs: 9 });
  assert.equal(config.accounts.get('work')!.name, 'work');
});

test('a config that gives only a chain runs on the documented defaults', () => {
  const config = parseConfig(LOCAL, 'c.yaml', {}, { dataDir: '/tmp/x' });
  assert.deepEqual(config.server, {
    host: '127.0.0.1',
    port: 2402,
    dataDir: '/tmp/x',
    bodyLimitBytes: 10 * 1024 * 1024,
    logLevel: 'info',
    logFormat: 'json',
    shutdownGraceMs: 10_000,
    sseKeepaliveMs: 10_000,
  });
  assert.deepEqual(config.router, {
    retries: 0,
    retryBaseMs: 200,
    retryMaxMs: 5_000,
    maxRetryAfterMs: 10_000,
    breakerFailures: 5,
    breakerWindowMs: 30_000,
    breakerCooldownMs: 30_000,
    healthCheckIntervalMs: 0,
  });
  assert.deepEqual(config.cache, { enabled: true, scope: 'client', ttlS: 3600, nondeterministic: false, maxEntries: 10_000, maxBytes: 256 * 1024 * 1024 });
  assert.deepEqual(config.usage, { write: 'ack', flushMs: 50, retentionDays: 90 });
  assert.deepEqual(config.normalize, { enabled: true });
  assert.deepEqual(config.responses, { store: true, retentionDays: 30 });
  assert.deepEqual(config.auth, { mode: 'optional' });
  assert.equal(config.mesh.enabled, false);
  assert.deepEqual(config.routes, []);
  assert.equal(config.tenants.size, 0);
  assert.deepEqual(config.prices, {});
  const target = config.chains.get('default')!.targets[0];
  assert.equal(target.weight, 1);
  assert.deepEqual(target.account!.timeouts, { connectMs: 5_000, firstByteMs: 60_000, totalMs: 600_000 });
  const chain = config.chains.get('default')!;
  assert.equal(chain.strategy, 'priority');
  assert.equal(chain.contextFallback, false);
});

test('typed sections replace the raw YAML: prices, tenants, routes and the mesh come out camelCased and resolved', () => {
  const config = parseConfig(
    `${LOCAL}prices:
  my-model: { input: 1, output: 2, cached_input: 0.5 }
tenants:
  acme:
    accounts:
      openai: { key: sk-acme, base_url: "http://127.0.0.1:1/v1" }
routes:
  - match: { model: "gpt-*", header: { X-Team: "a?" }, client: k1 }
    chain: default
mesh:
  secret_file: mesh.key
  sync_interval_ms: 1000
`,
    'c.yaml',
    {},
    { dataDir: '/data' },
  );
  assert.deepEqual(config.prices, { 'my-model': { input: 1, output: 2, cachedInput: 0.5 } });
  assert.deepEqual(config.tenants.get('acme')!.accounts.get('openai'), { key: 'sk-acme', baseUrl: 'http://127.0.0.1:1/v1' });
  const rule = config.routes[0];
  assert.equal(rule.name, 'routes[0]');
  assert.ok(rule.model!.test('gpt-4o') && !rule.model!.test('o1'));
  assert.deepEqual(
    rule.headers.map(([k, v]) => [k, v.test('ab')]),
    [['x-team', true]],
  );
  assert.deepEqual(rule.clients, ['k1']);
  assert.equal(config.mesh.enabled, true);
  assert.equal(config.mesh.secretFile, '/data/mesh.key');
  assert.equal(config.mesh.syncIntervalMs, 1000);
  assert.deepEqual(config.mesh.listen, ['/ip4/0.0.0.0/tcp/2403']);
});

test('invalid YAML is reported with its line', () => {
  assert.throws(() => parseConfig('chains:\n  default: [\n', 'bad.yaml', {}), /bad\.yaml:\d+:\d+: invalid YAML/);
});

test('the embedded default needs no key and listens on 127.0.0.1:2402', () => {
  const config = loadNodeConfig(undefined, {}, {});
  assert.equal(config.server.port, 2402);
  assert.equal(config.server.host, '127.0.0.1');
  assert.ok(config.chains.get('default')!.targets.every((t) => t.account!.type === 'local' && !t.account!.key));
  assert.match(DEFAULT_CONFIG_YAML, /11434/);
});

test('flags win over FLOWROUTER_* variables', () => {
  assert.deepEqual(overridesFrom({ port: '9000' }, { FLOWROUTER_PORT: '8000', FLOWROUTER_HOST: '0.0.0.0', FLOWROUTER_DATA_DIR: '/d' }), {
    port: 9000,
    host: '0.0.0.0',
    dataDir: '/d',
  });
  assert.throws(() => overridesFrom({ port: 'x' }, {}), /invalid port/);
});

test('overrides win over the file; mesh flags change a declared mesh and never turn one on', () => {
  const yaml = `server:\n  host: 0.0.0.0\n  port: 1234\n${LOCAL}mesh:\n  allowlist: [12D3KooWabc]\n  listen: [/ip4/127.0.0.1/tcp/5000]\n  bootstrap: [/ip4/10.0.0.9/tcp/2403]\n`;
  const config = parseConfig(yaml, 'c.yaml', {}, { host: '127.0.0.2', port: 0, dataDir: 'rel/dir', meshPort: 4001, bootstrap: ['/ip4/10.0.0.1/tcp/2403'] });
  assert.equal(config.server.host, '127.0.0.2');
  assert.equal(config.server.port, 0);
  assert.equal(config.server.dataDir, `${process.cwd()}/rel/dir`);
  assert.deepEqual(config.mesh.listen, ['/ip4/0.0.0.0/tcp/4001']);
  assert.deepEqual(config.mesh.bootstrap, ['/ip4/10.0.0.1/tcp/2403']);
  const off = parseConfig(LOCAL, 'c.yaml', {}, { meshPort: 4001, bootstrap: ['/ip4/10.0.0.1/tcp/2403'] });
  assert.equal(off.mesh.enabled, false);
});

test('a mesh with neither a secret nor an allowlist is refused: strangers must not join', () => {
  assert.throws(() => parseConfig(`mesh:\n  port: 2403\n${LOCAL}`, 'c.yaml', {}), /c\.yaml:2:3: mesh: set secret_file .* or an allowlist/);
  assert.equal(parseConfig(`mesh:\n  allowlist: [12D3KooWabc]\n${LOCAL}`, 'c.yaml', {}).mesh.enabled, true);
  assert.equal(parseConfig(`mesh:\n  enabled: false\n${LOCAL}`, 'c.yaml', {}).mesh.enabled, false);
});
