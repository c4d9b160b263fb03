// Files holding secrets are owner-only even under a permissive umask: database (+ WAL/SHM), usage journal, mesh keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/core/database.ts';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Runs `fn` with umask 0, so any mode that is not set explicitly would come out world-readable. */
async function withOpenUmask(fn: () => Promise<void>): Promise<void> {
  const old = process.umask(0);
  try {
    await fn();
  } finally {
    process.umask(old);
  }
}

test('a node started in a new data dir creates it 0700 and the database, its WAL/SHM, the usage journal and the mesh key 0600', async () => {
  const root = tempDir('flowrouter-modes-');
  const fake = await startFakeOpenAI();
  try {
    await withOpenUmask(async () => {
      const dataDir = join(root.path, 'nested', 'data');
      const config = parseConfig(
        `chains:\n  default:\n    - model: gpt-4\n      provider: openai\n      key: sk-test-0000000000000000\n      url: ${fake.url}\n`,
        'test.yaml',
        {},
        { host: '127.0.0.1', port: 0, dataDir },
      );
      const node = new FlowRouterNode(config, { logger: false });
      const { url } = await node.start();
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
        });
        assert.equal(res.status, 200);
        await res.text();
        assert.equal(modeOf(dataDir), 0o700, 'data dir');
        for (const f of ['flowrouter.db', 'flowrouter.db-wal', 'flowrouter.db-shm', 'usage.journal', 'mesh-identity.key']) {
          assert.ok(existsSync(join(dataDir, f)), `${f} exists`);
          assert.equal(modeOf(join(dataDir, f)), 0o600, f);
        }
      } finally {
        await node.stop();
      }
    });
  } finally {
    await fake.close();
    root.remove();
  }
});

test('a database and WAL left world-readable by an older version are narrowed to 0600 when opened', async () => {
  const dir = tempDir('flowrouter-modes-');
  try {
    const file = join(dir.path, 'flowrouter.db');
    openDatabase(file).close();
    writeFileSync(`${file}-wal`, '');
    chmodSync(file, 0o644);
    chmodSync(`${file}-wal`, 0o666);
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (x)');
    assert.equal(modeOf(file), 0o600);
    assert.equal(modeOf(`${file}-wal`), 0o600);
    db.close();
  } finally {
    dir.remove();
  }
});

test('an existing data dir keeps the mode its owner chose', async () => {
  const dir = tempDir('flowrouter-modes-');
  try {
    const data = join(dir.path, 'shared');
    mkdirSync(data);
    chmodSync(data, 0o750);
    openDatabase(join(data, 'flowrouter.db')).close();
    assert.equal(modeOf(data), 0o750);
  } finally {
    dir.remove();
  }
});

test('the mesh secret is written 0600 in a directory created 0700, under umask 0', async () => {
  const dir = tempDir('flowrouter-modes-');
  try {
    await withOpenUmask(async () => {
      const file = join(dir.path, 'secrets', 'mesh.key');
      await writeMeshSecret(file);
      assert.equal(modeOf(file), 0o600);
      assert.equal(modeOf(join(dir.path, 'secrets')), 0o700);
    });
  } finally {
    dir.remove();
  }
});
