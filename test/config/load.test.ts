// Config loading: the seed example as written, ${VAR} substitution, and errors that name file, line and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig, resolveConfig, overridesFrom, loadNodeConfig } from '../../src/config/index.ts';

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

test('the seed config loads exactly as written', () => {
  const { raw } = parseConfig(SEED, 'my.yaml', { OPENAI_KEY: 'sk-o', ANTHROPIC_KEY: 'sk-a' });
  const config = resolveConfig(raw, 'my.yaml', { dataDir: '/tmp/x' });
  const chain = config.chains.get('default')!;
  assert.deepEqual(chain.targets.map((t) => [t.account!.type, t.model]), [['openai', 'gpt-4'], ['anthropic', 'claude-3-sonnet'], ['local', 'mistral-7b']]);
  assert.equal(chain.targets[0].account!.key, 'sk-o');
  assert.equal(chain.targets[2].account!.baseUrl, 'http://127.0.0.1:8000/v1');
  assert.equal(config.server.port, 2402);
  assert.equal(config.server.host, '127.0.0.1');
});

test('a missing environment variable names the variable, file and line', () => {
  assert.throws(() => parseConfig(SEED, 'my.yaml', { OPENAI_KEY: 'x' }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^my\.yaml:8:\d+: environment variable ANTHROPIC_KEY is not set/);
    return true;
  });
});

test('${VAR:-default} falls back when the variable is unset', () => {
  const { raw } = parseConfig('chains:\n  default:\n    - model: m\n      provider: local\n      url: ${LOCAL_URL:-http://127.0.0.1:9/v1}\n', 'c.yaml', {});
  assert.equal((raw.chains.default as { url: string }[])[0].url, 'http://127.0.0.1:9/v1');
});

test('an unknown key is an error naming file, line and key path', () => {
  assert.throws(() => parseConfig('chains:\n  default:\n    - model: m\n      provider: local\n      tiemout: 3\n', 'c.yaml', {}),
    /c\.yaml:5:7: chains\.default\.0\.tiemout: unknown key "tiemout"/);
});

test('a wrong type says what was expected', () => {
  assert.throws(() => parseConfig('server:\n  port: "abc"\nchains:\n  default:\n    - model: m\n      provider: local\n', 'c.yaml', {}),
    /c\.yaml:2:9: server\.port: expected number/);
});

test('an unknown provider names the choices', () => {
  const { raw } = parseConfig('chains:\n  default:\n    - model: m\n      provider: openia\n', 'c.yaml', {});
  assert.throws(() => resolveConfig(raw, 'c.yaml'), /chains\.default\[0\]\.provider: "openia" is neither a provider type/);
});

test('named accounts are reusable across chains and may be specialised per target', () => {
  const { raw } = parseConfig(`providers:
  work:
    type: openai
    key: sk-work
    org: org-1
    timeouts: { connect_ms: 1234 }
chains:
  a: [{ model: gpt-4o, provider: work }]
  b: [{ model: gpt-4o-mini, provider: work, project: proj-2 }]
`, 'c.yaml', {});
  const config = resolveConfig(raw, 'c.yaml');
  const a = config.chains.get('a')!.targets[0].account!;
  const b = config.chains.get('b')!.targets[0].account!;
  assert.equal(a.key, 'sk-work');
  assert.equal(a.org, 'org-1');
  assert.equal(b.project, 'proj-2');
  assert.equal(b.timeouts.connectMs, 1234);
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
  assert.deepEqual(overridesFrom({ port: '9000' }, { FLOWROUTER_PORT: '8000', FLOWROUTER_HOST: '0.0.0.0', FLOWROUTER_DATA_DIR: '/d' }), { port: 9000, host: '0.0.0.0', dataDir: '/d' });
  assert.throws(() => overridesFrom({ port: 'x' }, {}), /invalid port/);
});

test('a whole ${VAR} in a plain scalar takes the type it would have had written in place; quoted stays a string', () => {
  const { raw } = parseConfig('server:\n  port: ${PORT}\nchains:\n  default:\n    - model: m\n      provider: local\n      key: "${KEY}"\n', 'c.yaml', { PORT: '8123', KEY: '12345' });
  assert.equal(raw.server?.port, 8123);
  assert.equal((raw.chains.default as { key: string }[])[0].key, '12345');
});

test('a mesh with neither a secret nor an allowlist is refused: strangers must not join', () => {
  const { raw } = parseConfig('mesh:\n  port: 2403\nchains:\n  default:\n    - model: m\n      provider: local\n', 'c.yaml', {});
  assert.throws(() => resolveConfig(raw, 'c.yaml'), /mesh: set secret_file .* or an allowlist/);
  const allow = parseConfig('mesh:\n  allowlist: [12D3KooWabc]\nchains:\n  default:\n    - model: m\n      provider: local\n', 'c.yaml', {});
  assert.equal(resolveConfig(allow.raw, 'c.yaml').mesh.enabled, true);
});
