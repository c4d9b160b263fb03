// Durability: a node process SIGKILLed during knowledge ingestion (HTTP and `kb add`) and usage load loses nothing acknowledged and half-applies nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { parseConfig } from '../../src/config/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { tempDir } from '../helpers.ts';
import { assertKnowledgeConsistent } from './kb-consistency.ts';

const NODE_ARGS = ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts'];

function spawnCli(args: string[]): {
  child: ChildProcess;
  exited: Promise<NodeJS.Signals | null>;
  lines(match: RegExp, n: number, ms: number): Promise<string[]>;
} {
  const child = spawn('node_modules/.bin/node', [...NODE_ARGS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return {
    child,
    exited,
    /** Resolves with the matching stdout lines once there are `n` of them (lines seen so far when the process exits). */
    lines: (match, n, ms) =>
      new Promise((resolve, reject) => {
        const found = () => out.split('\n').filter((l) => match.test(l));
        const timer = setInterval(() => {
          if (found().length >= n || child.exitCode !== null || child.signalCode !== null) {
            clearInterval(timer);
            clearTimeout(limit);
            resolve(found());
          }
        }, 5);
        const limit = setTimeout(() => {
          clearInterval(timer);
          reject(new Error(`fewer than ${n} lines matching ${match} within ${ms} ms`));
        }, ms);
      }),
  };
}

/** A few paragraphs, so each document has several chunks and FTS rows. */
function docText(key: string, version: number): string {
  return Array.from({ length: 4 }, (_, p) => `Paragraph ${p} of ${key} version ${version}. ${'Llamas and alpacas graze the high plains. '.repeat(20)}`).join(
    '\n\n',
  );
}

test('SIGKILL during HTTP ingestion and usage load: every acknowledged document and usage row survives, consistently', { timeout: 120_000 }, async () => {
  const fake = await startFakeOpenAI();
  const dir = tempDir();
  const configFile = join(dir.path, 'config.yaml');
  writeFileSync(configFile, `chains:\n  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-test\n      url: ${fake.url}\n`);
  const node = spawnCli(['start', '--config', configFile, '--data-dir', dir.path, '--port', '0', '--log-level', 'error']);
  let restarted: FlowRouterNode | undefined;
  try {
    const [line] = await node.lines(/listening on /, 1, 30_000);
    const url = /listening on (http:\/\/\S+?)\/v1/.exec(line ?? '')?.[1];
    assert.ok(url, `no URL in ${line}`);
    let killed = false;
    /** Per document id: its last acknowledged text, and the texts of writes not (yet) acknowledged since. */
    const acked = new Map<string, string>();
    const inFlight = new Map<string, Set<string>>();
    const ackedUsage: string[] = [];
    let ackedDocs = 0;
    const kbWorker = async (w: number) => {
      for (let i = 0; !killed; i++) {
        // Mostly new documents, every third write an update of one of this worker's earlier documents.
        const batch = Array.from({ length: 3 }, (_, j) => {
          const key = i % 3 === 2 && i > 3 ? `w${w}-d${(i * 7 + j) % i}-0` : `w${w}-d${i}-${j}`;
          return { id: key, title: key, text: docText(key, i) };
        });
        for (const d of batch) inFlight.set(d.id, (inFlight.get(d.id) ?? new Set<string>()).add(d.text));
        try {
          const res = await fetch(`${url}/v1/kb/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
          if (res.status === 200 || res.status === 201) {
            await res.json();
            // Acknowledged: from now on only this text (or a later write) is acceptable.
            for (const d of batch) {
              acked.set(d.id, d.text);
              inFlight.delete(d.id);
            }
            ackedDocs += batch.length;
          }
        } catch {
          /* cut by the kill: never acknowledged */
        }
      }
    };
    const chatWorker = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const stream = i % 2 === 1;
        try {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `usage ${w}-${i}` }] }),
          });
          const text = await res.text();
          if (res.status === 200 && (!stream || text.trimEnd().endsWith('data: [DONE]'))) ackedUsage.push(res.headers.get('x-request-id')!);
        } catch {
          /* cut by the kill */
        }
      }
    };
    const killer = (async () => {
      const until = Date.now() + 60_000;
      while ((ackedDocs < 300 || ackedUsage.length < 200) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      killed = true;
      node.child.kill('SIGKILL');
    })();
    await Promise.all([killer, ...Array.from({ length: 6 }, (_, w) => kbWorker(w)), ...Array.from({ length: 6 }, (_, w) => chatWorker(w))]);
    assert.equal(await node.exited, 'SIGKILL');
    assert.ok(ackedDocs >= 300 && ackedUsage.length >= 200, `only ${ackedDocs} documents and ${ackedUsage.length} requests acknowledged`);

    // Restart the node on the same data dir, as an operator would; it must open and serve.
    const config = parseConfig(
      `chains:\n  default:\n    - model: gpt-4o-mini\n      provider: openai\n      key: sk-test\n      url: ${fake.url}\n`,
      configFile,
      {},
      { host: '127.0.0.1', port: 0, dataDir: dir.path },
    );
    restarted = new FlowRouterNode(config, { logger: false });
    const { url: again } = await restarted.start();
    assert.equal((await fetch(`${again}/health`)).status, 200);
    const db = restarted.db;
    assertKnowledgeConsistent(db);
    const text = db.prepare('SELECT text FROM kb_docs WHERE id = ? AND deleted = 0').pluck();
    const lost = [...acked].filter(([id, want]) => {
      const got = text.get(id) as string | undefined;
      return got !== want && !(got !== undefined && inFlight.get(id)?.has(got));
    });
    assert.deepEqual(
      lost.map(([id]) => id),
      [],
      `acknowledged documents missing or holding another text (of ${acked.size})`,
    );
    restarted.usage.flush();
    const has = db.prepare('SELECT 1 FROM usage_ledger WHERE request_id = ?');
    const noRow = ackedUsage.filter((id) => !has.get(id));
    assert.deepEqual(noRow, [], `${noRow.length} of ${ackedUsage.length} acknowledged requests have no usage row`);
  } finally {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
    await restarted?.stop();
    await fake.close();
    dir.remove();
  }
});

test('SIGKILL during `flowrouter kb add` of many files: every document it reported survives, consistently', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const docs = join(dir.path, 'docs');
  const dataDir = join(dir.path, 'data');
  const FILES = 4_000;
  for (let d = 0; d < 40; d++) {
    mkdirSync(join(docs, `dir${d}`), { recursive: true });
    for (let f = 0; f < FILES / 40; f++) writeFileSync(join(docs, `dir${d}`, `note${f}.md`), `# Note ${d}-${f}\n\n${docText(`${d}-${f}`, 0)}\n`);
  }
  const add = spawnCli(['kb', 'add', 'docs', '--root', dir.path, '--data-dir', dataDir]);
  try {
    // A report line is printed only after its batch's transaction committed: these are the acknowledged documents.
    const reported = await add.lines(/^created /, 600, 60_000);
    add.child.kill('SIGKILL');
    const signal = await add.exited;
    assert.equal(signal, 'SIGKILL', 'the ingestion finished before the kill; nothing was tested');
    const ids = reported.map((l) => /^created\s+(\S+)/.exec(l)![1]);
    assert.ok(ids.length >= 600);
    const db = openDatabase(join(dataDir, 'flowrouter.db'));
    try {
      assertKnowledgeConsistent(db);
      const has = db.prepare('SELECT 1 FROM kb_docs WHERE id = ? AND deleted = 0').pluck();
      const missing = ids.filter((id) => !has.get(id));
      assert.deepEqual(missing, [], `${missing.length} of ${ids.length} reported documents are missing`);
      // One file is one document and `kb add` commits 200 per transaction: whole batches only, never part of one.
      const total = db.prepare('SELECT count(*) FROM kb_docs').pluck().get() as number;
      assert.ok(total < FILES, `all ${FILES} were ingested before the kill`);
      assert.equal(total % 200, 0, `${total} documents is not a whole number of batches`);
    } finally {
      db.close();
    }
  } finally {
    if (add.child.exitCode === null && add.child.signalCode === null) add.child.kill('SIGKILL');
    await add.exited;
    dir.remove();
  }
});
