// Durability: a node SIGKILLed in the middle of a load has a ledger row for every request a client saw completed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { UsageLedger } from '../../src/usage/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';

const ACKED_BEFORE_KILL = 200;
const CONCURRENCY = 16;

test('the ledger loses nothing acknowledged when the process is killed mid-load', { timeout: 60_000 }, async () => {
  const fake = await startFakeOpenAI();
  const dir = tempDir();
  const configFile = join(dir.path, 'config.yaml');
  writeFileSync(configFile, `chains:\n  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-test\n      url: ${fake.url}\n`);
  const child = spawn('node_modules/.bin/node', ['--disable-warning=ExperimentalWarning', 'test/usage/fixtures/serve.ts', configFile, dir.path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the node did not start within 20 s')), 20_000);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the node exited before starting'));
      });
    });
    const acked: string[] = [];
    let killed = false;
    let n = 0;
    const worker = async () => {
      while (!killed) {
        const i = n++;
        const stream = i % 2 === 1;
        try {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `load ${i}` }] }),
          });
          const text = await res.text();
          // Acknowledged: a 200 whose body arrived whole (a stream through its [DONE]).
          if (res.status === 200 && (!stream || text.trimEnd().endsWith('data: [DONE]'))) acked.push(res.headers.get('x-request-id')!);
        } catch {
          // Requests cut by the kill were never acknowledged.
        }
        if (!killed && acked.length >= ACKED_BEFORE_KILL) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.equal(await exited, 'SIGKILL');
    // Reopen as the next start of the node would: the ledger replays what the killed process had only journaled.
    const db = openDatabase(join(dir.path, 'flowrouter.db'));
    try {
      new UsageLedger(db, { flushMs: 50, journal: join(dir.path, 'usage.journal') }).stop();
      const has = db.prepare('SELECT 1 FROM usage_ledger WHERE request_id = ?');
      const missing = acked.filter((id) => !has.get(id));
      assert.ok(acked.length >= ACKED_BEFORE_KILL);
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged requests have no row`);
    } finally {
      db.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await fake.close();
    dir.remove();
  }
});
