// Ingestion: Markdown, text, HTML and JSON Lines files into documents; globs and directories; path safety; chunk budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { openDatabase } from '../../src/core/database.ts';
import { ClientError } from '../../src/core/errors.ts';
import { KnowledgeStore, chunkText, documentsFromFile, resolveInputs } from '../../src/knowledge/index.ts';

function tempTree(t: { after(fn: () => void): void }) {
  const root = mkdtempSync(join(tmpdir(), 'kb-ingest-'));
  const outside = mkdtempSync(join(tmpdir(), 'kb-outside-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  mkdirSync(join(root, 'docs/sub'), { recursive: true });
  writeFileSync(
    join(root, 'docs/guide.md'),
    '---\ntitle: The Guide\ntags: [setup, pi]\nauthor: Ada\n---\n# Install\n\nRun the installer.\n\n## Configure\n\nEdit flowrouter.yaml carefully.\n',
  );
  writeFileSync(join(root, 'docs/sub/notes.txt'), 'Plain notes line one.\n\nSecond paragraph of notes.');
  writeFileSync(
    join(root, 'docs/page.html'),
    '<html><head><title>Web &amp; Page</title></head><body><h1>Welcome</h1><p>Hello <a href="https://x.invalid">world</a>.</p><h2>Details</h2><p>More text here.</p></body></html>',
  );
  writeFileSync(
    join(root, 'docs/records.jsonl'),
    '{"id":"rec-1","title":"First","text":"alpha record","lang":"en"}\n\n{"id":"rec-2","text":"beta record","tags":["b"]}\n',
  );
  writeFileSync(join(root, 'docs/image.png'), 'not text');
  writeFileSync(join(outside, 'secret.md'), '# secret');
  symlinkSync(join(outside, 'secret.md'), join(root, 'docs/escape.md'));
  return { root, outside };
}

test('Markdown keeps front matter as title/tags/meta and chunks under heading paths', async (t) => {
  const { root } = tempTree(t);
  const [doc] = await documentsFromFile(join(root, 'docs/guide.md'), 'docs/guide.md', { collection: 'manual', tags: ['x'] });
  assert.equal(doc.id, 'manual:docs/guide.md');
  assert.equal(doc.title, 'The Guide');
  assert.deepEqual(doc.tags, ['x', 'setup', 'pi']);
  assert.deepEqual(doc.meta, { author: 'Ada' });
  assert.doesNotMatch(doc.text, /^---/);
  const chunks = doc.chunks!.map((c) => [c.heading, doc.text.slice(c.start, c.end)]);
  assert.deepEqual(chunks, [
    ['Install', 'Run the installer.'],
    ['Install > Configure', 'Edit flowrouter.yaml carefully.'],
  ]);
});

test('plain text, HTML (via html-to-text) and JSON Lines become documents', async (t) => {
  const { root } = tempTree(t);
  const [txt] = await documentsFromFile(join(root, 'docs/sub/notes.txt'), 'docs/sub/notes.txt');
  assert.equal(txt.id, 'default:docs/sub/notes.txt');
  assert.equal(txt.chunks!.length, 1);
  const [html] = await documentsFromFile(join(root, 'docs/page.html'), 'docs/page.html');
  assert.equal(html.title, 'Web & Page');
  assert.doesNotMatch(html.text, /<|https:/);
  assert.deepEqual(
    html.chunks!.map((c) => c.heading),
    ['Welcome', 'Welcome > Details'],
  );
  const records = await documentsFromFile(join(root, 'docs/records.jsonl'), 'docs/records.jsonl', { collection: 'rec' });
  assert.deepEqual(
    records.map((r) => [r.id, r.title, r.source, r.tags]),
    [
      ['rec-1', 'First', 'docs/records.jsonl#rec-1', []],
      ['rec-2', undefined, 'docs/records.jsonl#rec-2', ['b']],
    ],
  );
  assert.deepEqual(records[0].meta, { lang: 'en' });
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = new KnowledgeStore(db, 'n');
  store.putMany([txt, html, ...records]);
  assert.deepEqual(
    store.search('beta').map((r) => r.docId),
    ['rec-2'],
  );
  assert.deepEqual(
    store.search('details').map((r) => r.docId),
    ['default:docs/page.html'],
  );
});

test('bad JSON Lines and unsupported files are ClientErrors naming the line', async (t) => {
  const { root } = tempTree(t);
  writeFileSync(join(root, 'bad.jsonl'), '{"id":"ok","text":"fine"}\n{oops\n');
  await assert.rejects(documentsFromFile(join(root, 'bad.jsonl'), 'bad.jsonl'), (e: unknown) => e instanceof ClientError && /line 2/.test(e.message));
  writeFileSync(join(root, 'bad-id.jsonl'), '{"id":"../../x","text":"t"}\n');
  await assert.rejects(documentsFromFile(join(root, 'bad-id.jsonl'), 'bad-id.jsonl'), ClientError);
  await assert.rejects(documentsFromFile(join(root, 'docs/image.png'), 'docs/image.png'), ClientError);
});

test('directories and globs resolve to files inside the root; traversal and symlink escapes are refused', async (t) => {
  const { root, outside } = tempTree(t);
  const all = (await resolveInputs(['docs'], root)).map((f) => f.source);
  assert.deepEqual(all, ['docs/guide.md', 'docs/page.html', 'docs/records.jsonl', 'docs/sub/notes.txt']);
  assert.deepEqual(
    (await resolveInputs(['docs/**/*.txt', 'docs/guide.md'], root)).map((f) => f.source),
    ['docs/guide.md', 'docs/sub/notes.txt'],
  );
  for (const bad of ['../', '../../etc/passwd', join(outside, 'secret.md'), 'docs/escape.md', 'docs/../../*', `${outside}/*.md`]) {
    await assert.rejects(resolveInputs([bad], root), (e: unknown) => e instanceof ClientError, bad);
  }
  await assert.rejects(resolveInputs(['docs/missing.md'], root), (e: unknown) => e instanceof ClientError && e.code === 'no_such_file');
});

test('chunks respect the token budget, overlap their neighbours, and cover every paragraph', () => {
  const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} ${'lorem ipsum dolor sit amet '.repeat(8)}end.`);
  const text = paragraphs.join('\n\n');
  const chunks = chunkText(text, { maxTokens: 200, overlapTokens: 60 });
  assert.ok(chunks.length > 5);
  for (const c of chunks) assert.ok(countTokens(text.slice(c.start, c.end)) <= 220, `chunk of ${countTokens(text.slice(c.start, c.end))} tokens`);
  for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i].start < chunks[i - 1].end, 'consecutive chunks overlap');
  for (const p of paragraphs) assert.ok(chunks.some((c) => text.slice(c.start, c.end).includes(p)));
  const long = 'word '.repeat(5000);
  const pieces = chunkText(long, { maxTokens: 100 });
  assert.ok(pieces.every((c) => countTokens(long.slice(c.start, c.end)) <= 110));
  assert.equal(chunkText('   \n\n  ').length, 0);
});
