// Config as people write it: `key:` left empty means no key, and a wrong value is named by its exact key path and type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

const load = (yaml: string) => parseConfig(yaml, 'c.yaml', {}, { dataDir: '/tmp/flowrouter-config-test' });

test('an empty key (YAML null) means no key: in an inline target, an object-form chain and a named account', () => {
  const config = load(`
providers:
  claude:
    type: anthropic
    key:
chains:
  default:
    - model: llama
      provider: local
      url: http://127.0.0.1:8000/v1
      key:
  other:
    strategy: priority
    targets:
      - model: claude-sonnet-4
        provider: claude
`);
  assert.equal(config.chains.get('default')!.targets[0].account!.key, undefined);
  assert.equal(config.chains.get('other')!.targets[0].account!.key, undefined);
});

// The chain schema is a union (a list of targets, or an object with targets): the error comes from the branch that fits.
test('a wrong value inside a chain target names its exact key path and the expected type', () => {
  assert.throws(
    () =>
      load(`
chains:
  default:
    - model: m
      provider: local
      url: http://127.0.0.1:8000/v1
      weight: heavy
`),
    (err: unknown) =>
      err instanceof ConfigError && /c\.yaml:7:\d+: chains\.default\[0\]\.weight: expected number/.test(err.message) && !/Invalid input/.test(err.message),
  );
});
