// `flowrouter kb …`: add, remove, list and search knowledge-base documents and show its statistics.
import { Command } from 'commander';
import { NotFoundError } from '../core/errors.ts';
import type { KnowledgeStore } from '../knowledge/store.ts';
import type { DocumentInput, PutResult } from '../knowledge/store.ts';
import { documentFromText, documentsFromFile, resolveInputs } from '../knowledge/ingest/index.ts';
import type { TextFormat } from '../knowledge/ingest/index.ts';

export interface KbStoreHandle {
  store: KnowledgeStore;
  close(): Promise<void> | void;
}
export type OpenKnowledgeStore = (opts: { config?: string; dataDir?: string }) => Promise<KbStoreHandle>;

/** Where the commands write and read; the process's own streams unless a test supplies others. */
export interface KbIo {
  stdout?: { write(text: string): unknown; isTTY?: boolean };
  stdin?: AsyncIterable<string | Buffer>;
}

interface StoreOpts {
  config?: string;
  dataDir?: string;
}

// Files are written in groups so a large tree is a few transactions rather than thousands.
const BATCH_DOCS = 200;

export function kbCommand(open: OpenKnowledgeStore, io: KbIo = {}): Command {
  const out = io.stdout ?? process.stdout;
  const print = (line = '') => {
    out.write(`${line}\n`);
  };
  const tty = () => Boolean(out.isTTY);
  const withStore = async (opts: StoreOpts, run: (store: KnowledgeStore) => Promise<void> | void) => {
    const handle = await open({ config: opts.config, dataDir: opts.dataDir });
    try {
      await run(handle.store);
    } finally {
      await handle.close();
    }
  };
  const storeOptions = (cmd: Command) =>
    cmd
      .option('--config <file>', 'configuration file (env FLOWROUTER_CONFIG; default /etc/flowrouter/config.yaml when it exists)')
      .option('--data-dir <dir>', "directory holding the node database (env FLOWROUTER_DATA_DIR; default the config's server.data_dir)");

  const kb = new Command('kb').description('Manage the knowledge base');

  storeOptions(
    kb
      .command('add')
      .description('Add or update documents from files, directories, globs or - (stdin)')
      .argument('<paths...>', 'files, directories, globs, or - for stdin')
      .option('-c, --collection <name>', 'collection', 'default')
      .option('-t, --tags <list>', 'comma-separated tags')
      .option('--root <dir>', 'ingestion root: paths must lie inside it; sources are relative to it', process.cwd())
      .option('--format <format>', 'format of stdin: markdown, text or html', 'text')
      .option('--source <name>', 'source name for stdin', 'stdin'),
  ).action(async (paths: string[], opts: StoreOpts & { collection: string; tags?: string; root: string; format: TextFormat; source: string }) => {
    const tags = opts.tags
      ? opts.tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
      : [];
    const files = await resolveInputs(
      paths.filter((p) => p !== '-'),
      opts.root,
    );
    const stdinDoc = paths.includes('-')
      ? documentFromText(await readAll(io.stdin ?? process.stdin), { format: opts.format, source: opts.source, collection: opts.collection, tags })
      : null;
    await withStore(opts, async (store) => {
      const started = performance.now();
      const totals = { created: 0, updated: 0, unchanged: 0, chunks: 0 };
      // Imported here: every `flowrouter start` parses this command line too.
      const bar = tty()
        ? new (await import('cli-progress')).SingleBar({
            format: '{bar} {percentage}% | {value}/{total} files | {chunks} chunks | {rate} chunks/s | ETA {eta_formatted}',
            stream: out as NodeJS.WritableStream,
            hideCursor: true,
          })
        : null;
      const report = (results: PutResult[]) => {
        for (const r of results) {
          totals[r.status]++;
          totals.chunks += r.status === 'unchanged' ? 0 : r.chunks;
          if (!bar) print(`${r.status.padEnd(9)} ${r.id} (${r.chunks} chunks)`);
        }
      };
      if (stdinDoc) report(store.putMany([stdinDoc]));
      bar?.start(files.length, 0, { chunks: 0, rate: 0 });
      let pending: DocumentInput[] = [];
      for (const [i, f] of files.entries()) {
        pending.push(...(await documentsFromFile(f.path, f.source, { collection: opts.collection, tags })));
        if (pending.length >= BATCH_DOCS || i === files.length - 1) {
          report(store.putMany(pending));
          pending = [];
        }
        const seconds = (performance.now() - started) / 1000;
        bar?.update(i + 1, { chunks: totals.chunks, rate: Math.round(totals.chunks / Math.max(seconds, 1e-3)) });
      }
      bar?.stop();
      const seconds = (performance.now() - started) / 1000;
      print(
        `${totals.created + totals.updated + totals.unchanged} documents (${totals.created} created, ${totals.updated} updated, `
          + `${totals.unchanged} unchanged), ${totals.chunks} chunks indexed in ${seconds.toFixed(2)} s`,
      );
    });
  });

  storeOptions(kb.command('rm').description('Delete documents by id').argument('<ids...>', 'document ids')).action(async (ids: string[], opts: StoreOpts) =>
    withStore(opts, (store) => {
      const missing = ids.filter((id) => {
        const removed = store.remove(id);
        if (removed) print(`removed ${id}`);
        return !removed;
      });
      if (missing.length > 0) throw new NotFoundError(`No document with id ${missing.join(', ')}`, 'document_not_found');
    }),
  );

  storeOptions(
    kb
      .command('ls')
      .description('List documents')
      .option('-c, --collection <name>', 'only this collection')
      .option('--tag <tag>', 'only documents with this tag')
      .option('-n, --limit <n>', 'at most this many', '100'),
  ).action(async (opts: StoreOpts & { collection?: string; tag?: string; limit: string }) =>
    withStore(opts, (store) => {
      const docs = store.list({ collection: opts.collection, tag: opts.tag, limit: Number(opts.limit) });
      printTable(
        print,
        ['ID', 'COLLECTION', 'CHUNKS', 'UPDATED', 'TITLE'],
        docs.map((d) => [d.id, d.collection, String(d.chunks), new Date(d.updatedAt).toISOString().slice(0, 19).replace('T', ' '), d.title]),
      );
    }),
  );

  storeOptions(
    kb
      .command('search')
      .description('Search the knowledge base')
      .argument('<query>', 'words, "phrases", prefix*')
      .option('-c, --collection <name>', 'only this collection')
      .option('--tag <tag>', 'only documents with this tag')
      .option('-n, --limit <n>', 'number of results', '10'),
  ).action(async (query: string, opts: StoreOpts & { collection?: string; tag?: string; limit: string }) =>
    withStore(opts, (store) => {
      const highlight = tty() ? { open: '\x1b[1;33m', close: '\x1b[0m' } : { open: '**', close: '**' };
      const results = store.search(query, { collection: opts.collection, tag: opts.tag, limit: Number(opts.limit), highlight });
      if (results.length === 0) {
        print('No results.');
        return;
      }
      results.forEach((r, i) => {
        print(`${String(i + 1).padStart(3)}. ${r.score.toFixed(3).padStart(8)}  ${r.title}${r.heading ? ` › ${r.heading}` : ''}  [${r.id}]`);
        print(`      ${r.snippet.replace(/\s+/g, ' ')}`);
      });
    }),
  );

  storeOptions(kb.command('stats').description('Show knowledge-base statistics')).action(async (opts: StoreOpts) =>
    withStore(opts, (store) => {
      const s = store.stats();
      printTable(
        print,
        ['DOCUMENTS', 'TOMBSTONES', 'CHUNKS', 'COLLECTIONS', 'OPS', 'SIZE'],
        [[s.documents, s.tombstones, s.chunks, s.collections, s.ops].map(String).concat(`${(s.bytes / 1048576).toFixed(1)} MiB`)],
      );
    }),
  );

  return kb;
}

function printTable(print: (line: string) => void, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i] ? `${c.slice(0, widths[i] - 1)}…` : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  print(line(header));
  for (const r of rows) print(line(r));
}

async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of input) parts.push(typeof part === 'string' ? Buffer.from(part) : part);
  return Buffer.concat(parts).toString('utf8');
}
