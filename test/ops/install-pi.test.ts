// scripts/install-pi.sh --dry-run: prints every step of an install and changes nothing; the unit has the hardening it promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

function install(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-pi.sh'), ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a dry run prints the copy, setup, user, directories and unit steps, and creates nothing', () => {
  const dir = tempDir();
  const prefix = join(dir.path, 'opt-flowrouter');
  try {
    const r = install(['--dry-run', '--prefix', prefix], { FLOWROUTER_ARCH: 'aarch64' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /architecture arm64/);
    assert.match(r.out, /dry run: nothing is changed/);
    const steps = r.out
      .split('\n')
      .filter((l) => l.startsWith('+ '))
      .join('\n');
    assert.match(steps, new RegExp(`^\\+ mkdir -p ${prefix}$`, 'm'));
    assert.match(steps, /tar -C .* --exclude=\.\/node_modules .*\| tar -C /);
    assert.match(steps, new RegExp(`^\\+ bash ${prefix}/scripts/setup$`, 'm'));
    assert.match(r.out, /^\+ useradd --system .*--shell \/usr\/sbin\/nologin flowrouter$|^install-pi: user flowrouter exists$/m);
    assert.match(steps, /^\+ install -d -m 0750 -o flowrouter -g flowrouter \/var\/lib\/flowrouter$/m);
    assert.match(steps, new RegExp(`sed 's#/opt/flowrouter#${prefix}#g' .*deploy/flowrouter.service' > '/etc/systemd/system/flowrouter.service'`));
    assert.match(steps, /^\+ systemctl daemon-reload$/m);
    assert.match(steps, /^\+ systemctl enable --now flowrouter.service$/m);
    assert.equal(existsSync(prefix), false, 'the dry run created the prefix');
  } finally {
    dir.remove();
  }
});

test('--no-start only enables the unit; unsupported architectures and unknown options are refused', () => {
  const r = install(['--dry-run', '--no-start'], { FLOWROUTER_ARCH: 'x86_64' });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\+ systemctl enable flowrouter.service$/m);
  assert.doesNotMatch(r.out, /enable --now/);

  const arm32 = install(['--dry-run'], { FLOWROUTER_ARCH: 'armv7l' });
  assert.equal(arm32.code, 1);
  assert.match(arm32.err, /unsupported architecture armv7l/);
  assert.equal(install(['--bogus']).code, 2);
});

test('the systemd unit runs bin/flowrouter as its own user with a graceful stop and a hardened sandbox', () => {
  const unit = readFileSync(join(ROOT, 'deploy/flowrouter.service'), 'utf8');
  const has = (line: string) => assert.ok(unit.split('\n').includes(line), `missing: ${line}`);
  has('ExecStart=/opt/flowrouter/bin/flowrouter start --config /etc/flowrouter/config.yaml');
  has('User=flowrouter');
  has('Restart=on-failure');
  has('KillSignal=SIGTERM');
  has('NoNewPrivileges=yes');
  has('ProtectSystem=strict');
  has('PrivateTmp=yes');
  has('ReadWritePaths=/var/lib/flowrouter /var/cache/flowrouter');
  const stopSec = Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)?.[1]);
  assert.ok(stopSec > 10, 'TimeoutStopSec must exceed the default 10 s shutdown grace');
});
