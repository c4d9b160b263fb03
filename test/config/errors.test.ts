// Every config error names file:line:column, the exact key path and what was expected, cross-reference errors included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

const LOCAL = 'chains:\n  default:\n    - model: m\n      provider: local\n';

function errorOf(yaml: string): string {
  try {
    parseConfig(yaml, 'c.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the config was accepted');
}

const CASES: [string, string, string][] = [
  [
    'an unknown key points at the key',
    'chains:\n  default:\n    - model: m\n      provider: local\n      tiemout: 3\n',
    'c.yaml:5:7: chains.default[0].tiemout: unknown key "tiemout"',
  ],
  ['a wrong type says what was expected and what was found', `server:\n  port: "abc"\n${LOCAL}`, 'c.yaml:2:9: server.port: expected number, received string'],
  ['a missing required section says so', 'server:\n  port: 1\n', 'c.yaml:1:1: chains: required (expected map)'],
  ['a chain left empty names both forms a chain can take', 'chains:\n  default:\n', 'c.yaml:2:11: chains.default: expected list or map, received null'],
  [
    'a chain given as a list reports the list\'s own problem, not "Invalid input"',
    'chains:\n  default:\n    - model: m\n      provider: openai\n      weight: zero\n',
    'c.yaml:5:15: chains.default[0].weight: expected number, received string',
  ],
  [
    "a chain given as an object reports the object's own problem",
    'chains:\n  default:\n    strategy: fastest\n    targets:\n      - { model: m, provider: openai }\n',
    'c.yaml:3:15: chains.default.strategy: expected one of "priority"|"round-robin"|"weighted"|"least-latency"|"cost"',
  ],
  ['a chain without targets', 'chains:\n  default: []\n', 'c.yaml:2:12: chains.default: expected at least one target'],
  [
    'a string-or-list key given a number',
    `${LOCAL}routes:\n  - chain: default\n    match: { client: 5 }\n`,
    'c.yaml:7:22: routes[0].match.client: expected string or list, received number',
  ],
  [
    'a URL that is not one',
    'chains:\n  default:\n    - model: m\n      provider: local\n      url: localhost:8080\n',
    'c.yaml:5:12: chains.default[0].url: expected an http(s) URL such as http://127.0.0.1:8080/v1',
  ],
  [
    'an unknown provider names the provider types, target kinds and accounts',
    'chains:\n  default:\n    - model: m\n      provider: openia\n',
    'c.yaml:4:17: chains.default[0].provider: "openia" is neither a provider type (openai, azure, anthropic, gemini, local), a target kind (knowledge, mesh) nor an account under providers:',
  ],
  [
    "an unknown provider in the object form has the object form's path",
    'chains:\n  default:\n    targets:\n      - model: m\n        provider: openia\n',
    'c.yaml:5:19: chains.default.targets[0].provider: "openia" is neither a provider type (openai, azure, anthropic, gemini, local), a target kind (knowledge, mesh) nor an account under providers:',
  ],
  [
    'an account type outside the registry',
    'providers:\n  work:\n    type: azur\nchains:\n  default:\n    - { model: m, provider: work }\n',
    'c.yaml:3:11: providers.work.type: expected one of openai, azure, anthropic, gemini, local',
  ],
  [
    'an inline azure target without url',
    'chains:\n  default:\n    - model: m\n      provider: azure\n',
    'c.yaml:3:7: chains.default[0].url: required: azure has no public API, give url (https://<resource>.openai.azure.com)',
  ],
  [
    'an azure account without base_url',
    'providers:\n  az:\n    type: azure\n    key: k\nchains:\n  default:\n    - { model: m, provider: az }\n',
    'c.yaml:3:5: providers.az.base_url: required: azure has no public API, give base_url (https://<resource>.openai.azure.com)',
  ],
  [
    'a provider target without a model',
    'chains:\n  default:\n    - provider: openai\n',
    'c.yaml:3:7: chains.default[0].model: required: the upstream model ("*" passes the client\'s model through)',
  ],
  [
    'two targets with one id',
    'chains:\n  default:\n    - model: m\n      provider: openai\n    - model: m\n      provider: openai\n',
    'c.yaml:5:7: chains.default[1]: two targets of chain "default" share the id "default/openai/m"; give one a name:',
  ],
  ['a route to a missing chain', `${LOCAL}routes:\n  - chain: nope\n    match: {}\n`, 'c.yaml:6:12: routes[0].chain: no chain named "nope"'],
  [
    'a tenant override for an account that does not exist points at its name',
    `${LOCAL}tenants:\n  acme:\n    accounts:\n      work:\n        key: k\n`,
    'c.yaml:8:7: tenants.acme.accounts.work: neither an account under providers: nor a provider type',
  ],
  [
    'an account named after a target kind',
    `providers:\n  knowledge:\n    type: openai\n${LOCAL}`,
    'c.yaml:2:3: providers.knowledge: an account may not be named after another provider type or a target kind (knowledge, mesh)',
  ],
  [
    'an account named after another provider type',
    `providers:\n  anthropic:\n    type: openai\n${LOCAL}`,
    'c.yaml:2:3: providers.anthropic: an account may not be named after another provider type or a target kind (knowledge, mesh)',
  ],
  [
    'a shadow naming a missing target and a missing judge reports both',
    'chains:\n  default:\n    shadow: { target: nope, judge: nochain }\n    targets:\n      - model: m\n        provider: openai\n',
    'c.yaml:3:23: chains.default.shadow.target: no target has the id "nope"\nc.yaml:3:36: chains.default.shadow.judge: no chain named "nochain"',
  ],
  [
    'an inline shadow target with a typo reports the typo only',
    'chains:\n  default:\n    shadow:\n      target:\n        provider: openai\n        modle: x\n    targets:\n      - model: m\n        provider: openai\n',
    'c.yaml:6:9: chains.default.shadow.target.modle: unknown key "modle"',
  ],
  ['a short admin key', `auth:\n  admin_key: short\n${LOCAL}`, 'c.yaml:2:14: auth.admin_key: too short, use at least 16 random characters'],
  ['a list where a map is expected names both in YAML words', `${LOCAL}providers: [openai]\n`, 'c.yaml:5:12: providers: expected map, received list'],
  [
    'a chain key null where a string is expected',
    'chains:\n  default:\n    - model:\n      provider: openai\n',
    'c.yaml:3:13: chains.default[0].model: expected string, received null',
  ],
];

for (const [title, yaml, message] of CASES) {
  test(`config error: ${title}`, () => {
    assert.equal(errorOf(yaml), message);
  });
}

test('at most five problems are listed, in file order, each on its own line with its own position', () => {
  const yaml = 'server:\n  port: a\n  host: 1\n  log_level: x\n  log_format: y\n  body_limit_mb: z\n  shutdown_grace_ms: w\nchains: {}\n';
  const lines = errorOf(yaml).split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^c\.yaml:2:9: server\.port: /);
  assert.match(lines[1], /^c\.yaml:3:9: server\.host: /);
});
