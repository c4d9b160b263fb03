// The config of the other client APIs: `api: responses` on the targets that speak it, and the `responses:` section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

function errorOf(yaml: string): string {
  try {
    parseConfig(yaml, 'c.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the config was accepted');
}

test('api: responses is taken by openai and azure targets and reaches the target config', () => {
  const config = parseConfig(
    'chains:\n  c:\n    - { model: m, provider: openai, key: k, api: responses }\n    - { model: m, provider: azure, url: "https://x.openai.azure.com", key: k, api: responses, name: az }\n',
    'c.yaml',
    {},
  );
  assert.deepEqual(
    config.chains.get('c')!.targets.map((t) => t.api),
    ['responses', 'responses'],
  );
});

test('api: responses on a target that does not speak it, or a value that is no API, names the key', () => {
  assert.match(
    errorOf('chains:\n  c:\n    - { model: m, provider: anthropic, key: k, api: responses }\n'),
    /chains\.c\[0\]\.api: the Responses API is spoken by openai and azure targets only, not anthropic/,
  );
  assert.match(errorOf('chains:\n  c:\n    - { model: m, provider: local, api: responses }\n'), /chains\.c\[0\]\.api: .* not local/);
  assert.match(errorOf('chains:\n  c:\n    - { provider: knowledge, api: responses }\n'), /chains\.c\[0\]\.api: .* not knowledge/);
  assert.match(errorOf('chains:\n  c:\n    - { model: m, provider: openai, key: k, api: messages }\n'), /chains\.c\[0\]\.api: .*chat.*responses/);
});

test('responses: stores by default for 30 days; both keys can be set, and nonsense is refused', () => {
  const base = 'chains:\n  c:\n    - { model: m, provider: local }\n';
  assert.deepEqual(parseConfig(base, 'c.yaml', {}).responses, { store: true, retentionDays: 30 });
  assert.deepEqual(parseConfig(`responses: { store: false, retention_days: 7 }\n${base}`, 'c.yaml', {}).responses, { store: false, retentionDays: 7 });
  assert.match(errorOf(`responses: { retention_days: 0 }\n${base}`), /responses\.retention_days/);
  assert.match(errorOf(`responses: { keep: true }\n${base}`), /responses\.keep: unknown key/);
});
