// The `kb` command through its factory: add files, globs and stdin; list; search; remove; stats — on a temp data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openDatabase } from '../../src/core/database.ts';
import { ClientError, NotFoundError } from '../../src/core/errors.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import { kbCommand } from '../../src/cli/kb.ts';

function harness(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'kb-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'notes'));
  writeFileSync(join(dir, 'notes/a.md'), '# Alpha\n\nLlamas hum quietly.');
  writeFileSync(join(dir, 'notes/b.txt'), 'Alpacas spit.');
  let output = '';
  const opened: string[] = [];
  let open = 0;
  const run = async (args: string[], stdin?: string, isTTY = false) => {
    output = '';
    const cmd = kbCommand(
      async ({ dataDir }) => {
        opened.push(String(dataDir));
        const db = openDatabase(join(dataDir!, 'node.db'));
        open++;
        return {
          store: new KnowledgeStore(db, 'cli-node'),
          close: () => {
            db.close();
            open--;
          },
        };
      },
      {
        stdout: {
          write: (s: string) => {
            output += s;
            return true;
          },
          isTTY,
        },
        stdin: stdin === undefined ? undefined : Readable.from([Buffer.from(stdin)]),
      },
    );
    cmd.exitOverride();
    await cmd.parseAsync([...args, '--data-dir', join(dir, 'data')], { from: 'user' });
    return output;
  };
  return { dir, run, opened, openCount: () => open };
}

test('add ingests files and globs under --root, then reports unchanged on a re-run', async (t) => {
  const { dir, run, opened, openCount } = harness(t);
  const out = await run(['add', 'notes/*.md', 'notes/b.txt', '--root', dir, '--collection', 'zoo', '--tags', 'animals,farm']);
  assert.match(out, /created\s+zoo:notes\/a\.md \(1 chunks\)/);
  assert.match(out, /created\s+zoo:notes\/b\.txt/);
  assert.match(out, /2 documents \(2 created, 0 updated, 0 unchanged\), 2 chunks indexed/);
  assert.match(await run(['add', 'notes', '--root', dir, '--collection', 'zoo', '--tags', 'animals,farm']), /0 created, 0 updated, 2 unchanged/);
  assert.deepEqual(opened, [join(dir, 'data'), join(dir, 'data')]);
  assert.equal(openCount(), 0, 'the store is closed after each command');
  await assert.rejects(run(['add', '../outside.md', '--root', dir]), ClientError);
  assert.equal(openCount(), 0);
});

test('on a terminal, add shows a progress bar with rate and ETA instead of one line per document', async (t) => {
  const { dir, run } = harness(t);
  const out = await run(['add', 'notes', '--root', dir], undefined, true);
  assert.match(out, /2\/2 files \| 2 chunks \| \d+ chunks\/s \| ETA/);
  assert.doesNotMatch(out, /created\s+default:/);
  assert.match(out, /2 documents \(2 created/);
});

test('add - reads stdin; ls, search, stats and rm work on what was added', async (t) => {
  const { dir, run } = harness(t);
  await run(['add', 'notes', '--root', dir, '--collection', 'zoo']);
  await run(['add', '-', '--format', 'markdown', '--source', 'piped.md', '--collection', 'inbox'], '# Piped\n\nCapybaras relax.');
  const ls = await run(['ls']);
  assert.match(ls, /^ID\s+COLLECTION\s+CHUNKS\s+UPDATED\s+TITLE/);
  assert.match(ls, /inbox:piped\.md\s+inbox\s+1\s+\S+ \S+\s+Piped/);
  assert.equal((await run(['ls', '--collection', 'zoo'])).trim().split('\n').length, 3);
  const found = await run(['search', 'capybara*']);
  assert.match(found, /^\s+1\.\s+[\d.-]+\s+Piped › Piped\s+\[inbox:piped\.md#0\]\n\s+\*\*Capybaras\*\* relax\./);
  assert.equal((await run(['search', 'llamas', '--collection', 'inbox'])).trim(), 'No results.');
  assert.match(await run(['stats']), /DOCUMENTS\s+TOMBSTONES\s+CHUNKS\s+COLLECTIONS\s+OPS\s+SIZE\n3\s+0\s+3\s+2\s+3\s+[\d.]+ MiB/);
  assert.match(await run(['rm', 'inbox:piped.md']), /removed inbox:piped\.md/);
  await assert.rejects(run(['rm', 'inbox:piped.md']), NotFoundError);
  await assert.rejects(run(['search', '"']), ClientError);
});
