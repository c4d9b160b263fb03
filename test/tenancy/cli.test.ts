// `flowrouter keys …` through the command factory against a temp data dir, and the keys it prints working on a node.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keysCommand } from '../../src/cli/keys.ts';
import { tempDir } from '../helpers.ts';
import { chat, startNode } from './setup.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';

const dir = tempDir('flowrouter-cli-');
after(() => dir.remove());

async function run(...args: string[]): Promise<{ out: string; errors: unknown[] }> {
  let out = '';
  const errors: unknown[] = [];
  const cmd = keysCommand({
    out: (t) => {
      out += t;
    },
    fail: (e) => {
      errors.push(e);
    },
  });
  cmd.exitOverride();
  await cmd.parseAsync([...args, '--data-dir', dir.path], { from: 'user' });
  return { out, errors };
}

const KEY = /fr-[0-9a-f]{16}[A-Za-z0-9_-]{43}/;

test('keys create prints the key once; ls lists without secrets; rotate and revoke take effect on a running node', async () => {
  const fake = await startFakeOpenAI();
  const config = join(dir.path, 'config.yaml');
  writeFileSync(
    config,
    `auth: { mode: required }\ntenants:\n  acme: {}\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`,
  );
  const gw = await startNode(`auth: { mode: required }\nchains:\n  default:\n    - model: gpt-4\n      provider: openai\n      url: ${fake.url}\n`, {
    dataDir: dir.path,
  });
  try {
    const created = await run(
      'create',
      '--name',
      'acme',
      '--chains',
      'default',
      '--rpm',
      '60',
      '--budget-usd',
      '10',
      '--budget-period',
      'day',
      '--expires',
      '30d',
      '--tenant',
      'acme',
      '--config',
      config,
    );
    assert.deepEqual(created.errors, []);
    const key = KEY.exec(created.out)![0];
    assert.match(created.out, /shown only once/);
    assert.equal((await chat(gw.url, key)).status, 200);

    const listed = await run('ls', '--json');
    const [entry] = JSON.parse(listed.out);
    assert.equal(entry.name, 'acme');
    assert.deepEqual(entry.chains, ['default']);
    assert.equal(entry.tenant, 'acme');
    assert.equal(entry.budget_period, 'day');
    assert.equal(listed.out.includes(key.slice(19)), false);
    assert.equal(KEY.test((await run('ls')).out), false);

    const rotated = await run('rotate', 'acme');
    const fresh = KEY.exec(rotated.out)![0];
    assert.equal((await chat(gw.url, key)).status, 401);
    assert.equal((await chat(gw.url, fresh)).status, 200);

    assert.match((await run('revoke', entry.id)).out, /Revoked/);
    assert.equal((await chat(gw.url, fresh)).status, 401);
    assert.equal((await run('ls')).out, 'no keys\n');
    assert.match((await run('ls', '--all')).out, /revoked/);
  } finally {
    await gw.stop();
    await fake.close();
  }
});

test('keys commands report bad input instead of crashing', async () => {
  for (const args of [
    ['create', '--name', 'x', '--rpm', 'many'],
    ['create', '--name', 'x', '--expires', 'tomorrow-ish'],
    ['create', '--name', 'x', '--tenant', 'ghost'],
    ['revoke', 'nobody'],
    ['rotate', 'nobody'],
  ]) {
    const { errors, out } = await run(...args);
    assert.equal(errors.length, 1, args.join(' '));
    assert.equal(KEY.test(out), false);
  }
});
