// The JavaScript build: scripts/build emits dist/, bin/flowrouter runs it (with its V8 flag) while fresh, and src/ when stale.
// It runs on a copy of the install in a temp dir, so the checkout's own dist/ is never deleted or written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
let install: { path: string; remove(): void };

/** What an installed copy holds (scripts/install-pi.sh copies the tree): the CLI, its build script, sources and configs. */
before(() => {
  install = tempDir('flowrouter-build-');
  for (const entry of ['bin', 'scripts/build', 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    cpSync(join(ROOT, entry), join(install.path, entry), { recursive: true });
  }
  // The dependencies are read, never written, by the build and the CLI.
  symlinkSync(join(ROOT, 'node_modules'), join(install.path, 'node_modules'));
  const r = spawnSync('bash', [join(install.path, 'scripts/build')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
});
after(() => install.remove());

/**
 * Starts the copy's `bin/flowrouter start` on a free port; resolves with its base URL, the script node was given and the
 * environment the node process runs with.
 */
async function startBin(dataDir: string): Promise<{ url: string; script: string; argv: string[]; env: Map<string, string>; stop(): Promise<void> }> {
  writeFileSync(join(dataDir, 'config.yaml'), 'chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:9\n');
  const proc = spawn(
    join(install.path, 'bin/flowrouter'),
    ['start', '--config', join(dataDir, 'config.yaml'), '--port', '0', '--data-dir', dataDir, '--log-level', 'error'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: undefined, NODE_OPTIONS: undefined } },
  );
  const stop = () =>
    new Promise<void>((done) => {
      if (proc.exitCode !== null) return done();
      proc.once('exit', () => done());
      proc.kill('SIGTERM');
    });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "listening on" line within 20 s')), 20_000);
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+?)\/v1/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bin/flowrouter exited with ${code}`));
      });
    });
    // bin/flowrouter execs node, so the process's command line names the script it chose.
    const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
    const script = argv.find((a) => /entry\.(js|ts)$/.test(a)) ?? '';
    const env = new Map(
      readFileSync(`/proc/${proc.pid}/environ`, 'utf8')
        .split('\0')
        .filter((e) => e.includes('='))
        .map((e): [string, string] => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    return { url, script, argv, env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

test('bin/flowrouter starts the compiled dist/ when it is fresh: /ready answers and the dashboard files ship with it', async () => {
  assert.ok(existsSync(join(install.path, 'dist/cli/entry.js')));
  const dir = tempDir();
  const node = await startBin(dir.path);
  try {
    assert.equal(node.script, join(install.path, 'dist/cli/entry.js'));
    // The long-running node's memory settings (see bin/flowrouter).
    assert.match(node.env.get('NODE_OPTIONS') ?? '', /^--max-semi-space-size=4\b/);
    assert.equal(node.env.get('MALLOC_ARENA_MAX'), '2');
    // A V8 flag on node's command line (NODE_OPTIONS refuses it), before the script.
    const flag = node.argv.indexOf('--heap-growing-percent=50');
    assert.ok(flag > 0 && flag < node.argv.indexOf(node.script), node.argv.join(' '));
    assert.equal((await fetch(`${node.url}/ready`)).status, 200);
    const ui = await fetch(`${node.url}/ui/dashboard.js`);
    assert.equal(ui.status, 200);
    assert.equal(await ui.text(), readFileSync(join(ROOT, 'src/ops/ui/dashboard.js'), 'utf8'));
  } finally {
    await node.stop();
    dir.remove();
  }
});

test('bin/flowrouter runs src/ when a source file is newer than the build', async () => {
  // An edited source: newer than the build stamp.
  const future = new Date(Date.now() + 60_000);
  utimesSync(join(install.path, 'src/version.ts'), future, future);
  const dir = tempDir();
  try {
    const node = await startBin(dir.path);
    try {
      assert.equal(node.script, join(install.path, 'src/cli/entry.ts'));
      assert.equal((await fetch(`${node.url}/ready`)).status, 200);
    } finally {
      await node.stop();
    }
  } finally {
    dir.remove();
  }
});
