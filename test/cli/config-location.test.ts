// The CLI and the service find the config and the data directory by one rule, so `flowrouter kb` reaches the node's database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { configFrom } from '../../src/cli/common.ts';
import { SYSTEM_DATA_DIR } from '../../src/config/index.ts';
import { tempDir } from '../helpers.ts';

const CHAINS = 'chains:\n  default:\n    - { provider: local, model: m, url: http://127.0.0.1:9/v1 }\n';
const env = { HOME: homedir() };

test("without --config or FLOWROUTER_CONFIG the system config is used, with the service's data directory", () => {
  const dir = tempDir();
  try {
    const system = join(dir.path, 'config.yaml');
    writeFileSync(system, CHAINS);
    const config = configFrom({}, env, { systemFile: system });
    assert.equal(config.source, system);
    assert.equal(config.server.dataDir, SYSTEM_DATA_DIR);
    // Named explicitly (as the systemd unit does), it is still the system config.
    assert.equal(configFrom({ config: system }, env, { systemFile: system }).server.dataDir, SYSTEM_DATA_DIR);
  } finally {
    dir.remove();
  }
});

test('the data directory comes from --data-dir, then FLOWROUTER_DATA_DIR, then server.data_dir', () => {
  const dir = tempDir();
  try {
    const system = join(dir.path, 'config.yaml');
    writeFileSync(system, `server:\n  data_dir: ${join(dir.path, 'state')}\n${CHAINS}`);
    assert.equal(configFrom({}, env, { systemFile: system }).server.dataDir, join(dir.path, 'state'));
    assert.equal(configFrom({}, { ...env, FLOWROUTER_DATA_DIR: join(dir.path, 'env') }, { systemFile: system }).server.dataDir, join(dir.path, 'env'));
    assert.equal(
      configFrom({ dataDir: join(dir.path, 'flag') }, { ...env, FLOWROUTER_DATA_DIR: join(dir.path, 'env') }, { systemFile: system }).server.dataDir,
      join(dir.path, 'flag'),
    );
  } finally {
    dir.remove();
  }
});

test('--config and FLOWROUTER_CONFIG win over the system config; with none at all the embedded default runs in ~/.flowrouter', () => {
  const dir = tempDir();
  try {
    const system = join(dir.path, 'config.yaml');
    const mine = join(dir.path, 'mine.yaml');
    writeFileSync(system, CHAINS);
    writeFileSync(mine, CHAINS);
    assert.equal(configFrom({ config: mine }, env, { systemFile: system }).source, mine);
    assert.equal(configFrom({}, { ...env, FLOWROUTER_CONFIG: mine }, { systemFile: system }).source, mine);
    assert.equal(configFrom({ config: mine }, env, { systemFile: system }).server.dataDir, join(homedir(), '.flowrouter'));
    const absent = configFrom({}, env, { systemFile: join(dir.path, 'missing.yaml') });
    assert.equal(absent.source, '(embedded default)');
    assert.equal(absent.server.dataDir, join(homedir(), '.flowrouter'));
  } finally {
    dir.remove();
  }
});

test("the system config reads the service's env file for variables the environment does not set", () => {
  const dir = tempDir();
  try {
    const system = join(dir.path, 'config.yaml');
    writeFileSync(system, `auth:\n  mode: required\n  admin_key: \${FLOWROUTER_ADMIN_KEY}\n${CHAINS}`);
    writeFileSync(join(dir.path, 'env'), '# keys\nFLOWROUTER_ADMIN_KEY=from-the-env-file-0123456789\n');
    assert.equal(configFrom({}, env, { systemFile: system }).auth.adminKey, 'from-the-env-file-0123456789');
    assert.equal(
      configFrom({}, { ...env, FLOWROUTER_ADMIN_KEY: 'from-the-shell-0123456789' }, { systemFile: system }).auth.adminKey,
      'from-the-shell-0123456789',
    );
    // Another config file never reads it.
    const mine = join(dir.path, 'mine.yaml');
    writeFileSync(mine, `auth:\n  admin_key: \${FLOWROUTER_ADMIN_KEY:-none-set-0123456789}\n${CHAINS}`);
    assert.equal(configFrom({ config: mine }, env, { systemFile: system }).auth.adminKey, 'none-set-0123456789');
  } finally {
    dir.remove();
  }
});
