// `flowrouter doctor` against a temp config: ✓/✗ per check, exit status, TCP-only upstream checks, mesh ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { doctorCommand, runDoctor } from '../../src/cli/doctor.ts';
import { openDatabase } from '../../src/core/database.ts';
import { checkNodeVersion, checkPort, meshPorts } from '../../src/ops/checks.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function runCli(args: string[]): Promise<{ out: string; exitCode: number }> {
  let out = '';
  const program = new Command('flowrouter').exitOverride().addCommand(
    doctorCommand((t) => {
      out += t;
    }),
  );
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'flowrouter', 'doctor', ...args]);
    return { out, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = before;
  }
}

test('doctor passes on a healthy setup and checks the database without sending anything upstream', async () => {
  const fake = await startFakeOpenAI();
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir.path, 'flowrouter.db'));
    db.close();
    const file = join(dir.path, 'config.yaml');
    writeFileSync(file, `chains:\n  default:\n    - model: gpt-4o\n      provider: openai\n      key: sk-doctor-never-sent-123456\n      url: ${fake.url}\n`);
    const { out, exitCode } = await runCli(['--config', file, '--data-dir', dir.path, '--timeout', '2000']);
    assert.equal(exitCode, 0, out);
    assert.match(out, /^✓ node +v\d+/m);
    assert.match(out, /^✓ config +.*1 chain/m);
    assert.match(out, /^✓ database +.*quick_check ok/m);
    assert.match(out, /^✓ database WAL +journal_mode wal/m);
    assert.match(out, new RegExp(`^✓ upstream 127\\.0\\.0\\.1:${new URL(fake.url).port} +TCP connect`, 'm'));
    assert.match(out, /all checks passed/);
    assert.equal(fake.requests.length, 0, 'no HTTP request, so no key, reached the upstream');
    assert.equal(out.includes('sk-doctor'), false);
  } finally {
    dir.remove();
    await fake.close();
  }
});

test('an unreachable upstream or a broken config is a ✗ and a non-zero exit', async () => {
  const dir = tempDir();
  try {
    const port = await closedPort();
    const file = join(dir.path, 'config.yaml');
    writeFileSync(
      file,
      `providers:\n  down:\n    type: local\n    base_url: http://127.0.0.1:${port}/v1\nchains:\n  default:\n    - model: m\n      provider: down\n`,
    );
    const bad = await runCli(['--config', file, '--data-dir', dir.path, '--timeout', '1000']);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.out, new RegExp(`^✗ upstream 127\\.0\\.0\\.1:${port} +ECONNREFUSED \\(down\\)`, 'm'));
    assert.match(bad.out, /^✓ database +.*does not exist yet/m);
    assert.match(bad.out, /^✗ chain default +no target reachable \(default\/down\/m\)/m);
    assert.match(bad.out, /2 check\(s\) failed/);

    writeFileSync(file, 'chains:\n  default:\n    - model: m\n      provider: nowhere\n');
    const broken = await runCli(['--config', file, '--data-dir', dir.path]);
    assert.equal(broken.exitCode, 1);
    assert.match(broken.out, /^✗ config +.*nowhere/m);
  } finally {
    dir.remove();
  }
});

test('a down fallback upstream is a warning while its chain still has a reachable target', async () => {
  const fake = await startFakeOpenAI();
  const dir = tempDir();
  try {
    const port = await closedPort();
    const file = join(dir.path, 'config.yaml');
    writeFileSync(
      file,
      `chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:${port}/v1\n    - model: m\n      provider: openai\n      key: k\n      url: ${fake.url}\n`,
    );
    const { out, exitCode } = await runCli(['--config', file, '--data-dir', dir.path, '--timeout', '1000']);
    assert.equal(exitCode, 0, out);
    assert.match(out, new RegExp(`^! upstream 127\\.0\\.0\\.1:${port} +ECONNREFUSED`, 'm'));
    assert.match(out, /^✓ chain default +1 of 2 target\(s\) reachable/m);
    assert.match(out, /all checks passed, 1 warning\(s\)/);
  } finally {
    dir.remove();
    await fake.close();
  }
});

test('the Node version check wants 22 or newer', () => {
  assert.equal(checkNodeVersion('20.19.0').ok, false);
  assert.equal(checkNodeVersion('22.0.0').ok, true);
  assert.equal(checkNodeVersion('24.9.0').ok, true);
});

test('mesh ports are read from the listen multiaddrs (port 0 skipped); a port held by another process fails, a free one passes', async () => {
  assert.deepEqual(meshPorts(['/ip4/127.0.0.1/tcp/4001', '/ip4/0.0.0.0/tcp/0', '/ip6/::1/tcp/4002', '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWx']), [
    { host: '127.0.0.1', port: 4001 },
    { host: '::1', port: 4002 },
  ]);
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const held = (holder.address() as { port: number }).port;
  try {
    const foreign = await checkPort('127.0.0.1', held, async () => false);
    assert.equal(foreign.ok, false);
    assert.match(foreign.detail, /in use by another process/);
    const ours = await checkPort('127.0.0.1', held, async () => true);
    assert.equal(ours.ok, true);
    const free = await checkPort('127.0.0.1', await closedPort(), async () => false);
    assert.equal(free.ok, true);
    assert.match(free.detail, /free/);
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});

test('without a mesh section no port is checked', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'config.yaml');
    writeFileSync(file, 'chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:1/v1\n');
    const results = await runDoctor({ config: file, dataDir: dir.path }, { timeoutMs: 500, env: {} });
    assert.equal(
      results.some((r) => r.name.startsWith('mesh')),
      false,
    );
    assert.deepEqual(
      results.map((r) => r.name),
      ['node', 'config', 'database', 'upstream 127.0.0.1:1', 'chain default'],
    );
  } finally {
    dir.remove();
  }
});

test("on a joining node only its own mesh port is checked, never the bootstrap peer's address", async () => {
  const dir = tempDir();
  try {
    const port = await closedPort();
    const file = join(dir.path, 'config.yaml');
    writeFileSync(
      file,
      `mesh:\n  port: ${port}\n  secret_file: mesh.key\n  bootstrap: ["/ip4/10.99.0.1/tcp/2403/p2p/12D3KooWFiQrXSJykVHrmE67XSEC6XnTtsXWscLs8PVXg8A5wr2x"]\n`
        + 'chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:1/v1\n',
    );
    const results = await runDoctor({ config: file, dataDir: dir.path }, { timeoutMs: 500, env: {} });
    const mesh = results.filter((r) => r.name.startsWith('mesh'));
    assert.deepEqual(
      mesh.map((r) => [r.name, r.ok]),
      [[`mesh port ${port}`, true]],
    );
    assert.equal(
      results.some((r) => r.detail.includes('10.99.0.1')),
      false,
    );
  } finally {
    dir.remove();
  }
});

test('an unfinished bootstrap list is a warning that says start will refuse it, not a failed config', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'config.yaml');
    writeFileSync(
      file,
      `mesh:\n  port: ${await closedPort()}\n  secret_file: mesh.key\n  bootstrap: ["/ip4/192.168.1.10/tcp/2403/p2p/12D3KooWReplaceWithTheBootstrapPeerId"]\n`
        + 'chains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:1/v1\n',
    );
    const results = await runDoctor({ config: file, dataDir: dir.path }, { timeoutMs: 500, env: {} });
    assert.equal(results.find((r) => r.name === 'config')?.ok, true);
    const warning = results.find((r) => r.name === 'mesh bootstrap');
    assert.ok(warning?.ok && warning.warn);
    assert.match(warning.detail, /mesh\.bootstrap\[0\]: .* still the placeholder .*`start` refuses it unless --bootstrap replaces it/);
  } finally {
    dir.remove();
  }
});

test('with a mesh section, a listen port held by another process fails the doctor', async () => {
  const dir = tempDir();
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const held = (holder.address() as { port: number }).port;
  try {
    const file = join(dir.path, 'config.yaml');
    writeFileSync(
      file,
      `server:\n  port: ${await closedPort()}\nchains:\n  default:\n    - model: m\n      provider: local\n      url: http://127.0.0.1:1/v1\nmesh:\n  allowlist: [12D3KooWabc]\n  listen: [/ip4/127.0.0.1/tcp/${held}]\n`,
    );
    const results = await runDoctor({ config: file, dataDir: dir.path }, { timeoutMs: 500, env: {} });
    const mesh = results.find((r) => r.name === `mesh port ${held}`);
    assert.equal(mesh?.ok, false);
    assert.match(mesh!.detail, /in use by another process/);
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
    dir.remove();
  }
});
