// Runs index jobs: a large document's old chunks are removed and its new ones written in slices of a few milliseconds,
// each slice one transaction that also records the job's progress, across event-loop turns. Searches skip a document
// while its job exists; a job left by a crash (or by another process) is resumed.
import type { Db } from '../core/database.ts';
import type { ChunkSpan } from './chunk.ts';
import { chunkText } from './chunk.ts';
import { listOf } from './chunk-list.ts';
import type { IndexSource, JobRow } from './materialize.ts';
import { DOC_TEXT_SQL } from './reads.ts';

/** One slice's budget: the event loop is never held much longer than this by indexing. */
const SLICE_MS = 4;
/** The clock is read every this many chunks. */
const CHECK_EVERY = 16;
/** After a failed slice (the database busy in another process, say), the next try waits this long. */
const RETRY_MS = 1_000;
/** Jobs another process left (a `kb add` that crashed) are looked for this often. */
const POLL_MS = 5_000;

export class Indexer {
  readonly #db: Db;
  readonly #sources = new Map<number, IndexSource>();
  #next;
  #stmts;
  #scheduled = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];
  /** The last slice's failure, if the last slice failed. */
  lastError: string | null = null;

  constructor(db: Db) {
    this.#db = db;
    this.#next = db.prepare<[], JobRow>('SELECT doc_num, hlc, next_ordinal, stale_title, title FROM kb_index_jobs ORDER BY doc_num LIMIT 1');
    this.#stmts = {
      staleChunks: db.prepare<[number, number], { id: number; heading: string; text: string }>(
        'SELECT id, heading, text FROM kb_chunks WHERE doc_num = ? LIMIT ?',
      ),
      ftsDelete: db.prepare("INSERT INTO kb_fts(kb_fts, rowid, title, heading, text) VALUES ('delete', ?, ?, ?, ?)"),
      ftsInsert: db.prepare('INSERT INTO kb_fts(rowid, title, heading, text) VALUES (?, ?, ?, ?)'),
      deleteChunk: db.prepare('DELETE FROM kb_chunks WHERE id = ?'),
      insertChunk: db.prepare('INSERT INTO kb_chunks (doc_num, ordinal, heading, text) VALUES (?, ?, ?, ?)'),
      docId: db.prepare<[number], string>('SELECT id FROM kb_docs WHERE num = ?').pluck(),
      text: db.prepare<[number], string>(`SELECT ${DOC_TEXT_SQL} FROM kb_docs d WHERE d.num = ?`).pluck(),
      spans: db
        .prepare<[string, string], string | null>("SELECT json_extract(payload, '$.chunks') FROM kb_ops WHERE doc_id = ? AND hlc = ? AND payload IS NOT NULL")
        .pluck(),
      oldDone: db.prepare('UPDATE kb_index_jobs SET stale_title = NULL WHERE doc_num = ?'),
      progress: db.prepare('UPDATE kb_index_jobs SET next_ordinal = ? WHERE doc_num = ?'),
      done: db.prepare('DELETE FROM kb_index_jobs WHERE doc_num = ?'),
    };
  }

  /** A job's document as the writer had it in memory, so the job does not read 16 MiB back. */
  remember(source: IndexSource): void {
    this.#sources.set(source.num, source);
  }

  /** Whether any job is left (a document not searchable yet). */
  pending(): boolean {
    return this.#next.get() !== undefined;
  }

  /** Runs the jobs in the background, a slice per event-loop turn; polls for jobs other processes leave. */
  start(): void {
    this.#stopped = false;
    if (!this.#poll) {
      this.#poll = setInterval(() => {
        if (!this.#scheduled && this.pending()) this.schedule();
      }, POLL_MS);
      this.#poll.unref();
    }
    this.schedule();
  }

  schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  /** Runs every job to the end now, blocking (a CLI command before it exits). */
  finish(): void {
    while (this.#slice()) {
      /* each slice commits on its own */
    }
  }

  /** Resolves once no job is left (tests, benchmarks). */
  idle(): Promise<void> {
    if (!this.pending()) return Promise.resolve();
    this.schedule();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#sources.clear();
  }

  #turn(): void {
    this.#scheduled = false;
    if (this.#stopped || !this.#db.open) return;
    let more: boolean;
    try {
      more = this.#slice();
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.#timer = setTimeout(() => this.schedule(), RETRY_MS);
      this.#timer.unref();
      return;
    }
    if (more) {
      this.schedule();
      return;
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** One slice of the oldest job, in one transaction; false when no job is left. */
  #slice(): boolean {
    // IMMEDIATE: the job row read first must still be current when the slice writes (another process may run jobs).
    return this.#db
      .transaction((): boolean => {
        const job = this.#next.get();
        if (!job) return false;
        const started = performance.now();
        if (job.stale_title !== null) this.#removeOld(job, started);
        else this.#writeNew(job, started);
        return true;
      })
      .immediate();
  }

  #removeOld(job: JobRow, started: number): void {
    const s = this.#stmts;
    let removed = 0;
    for (;;) {
      const rows = s.staleChunks.all(job.doc_num, CHECK_EVERY);
      for (const c of rows) {
        s.ftsDelete.run(c.id, job.stale_title, c.heading, c.text);
        s.deleteChunk.run(c.id);
      }
      removed += rows.length;
      if (rows.length < CHECK_EVERY) {
        s.oldDone.run(job.doc_num);
        return;
      }
      if (performance.now() - started >= SLICE_MS && removed > 0) return;
    }
  }

  #writeNew(job: JobRow, started: number): void {
    const s = this.#stmts;
    // Every write to the document replaces its job, so the job is its current version. (Its row is not read: columns
    // after a large text sit past thousands of overflow pages.) A deleted one has nothing to write.
    const docId = job.title === null ? undefined : s.docId.get(job.doc_num);
    if (docId === undefined) {
      s.done.run(job.doc_num);
      this.#sources.delete(job.doc_num);
      return;
    }
    const src = this.#source(job, docId);
    const title = job.title!;
    let i = job.next_ordinal;
    for (; i < src.chunks.length; i++) {
      if ((i - job.next_ordinal) % CHECK_EVERY === 0 && i > job.next_ordinal && performance.now() - started >= SLICE_MS) break;
      const heading = src.chunks.heading(i);
      const chunk = src.text.slice(src.chunks.start(i), src.chunks.end(i));
      const rowid = s.insertChunk.run(job.doc_num, i, heading, chunk).lastInsertRowid;
      s.ftsInsert.run(rowid, title, heading, chunk);
    }
    if (i < src.chunks.length) {
      s.progress.run(i, job.doc_num);
      return;
    }
    s.done.run(job.doc_num);
    this.#sources.delete(job.doc_num);
  }

  /** The text and spans being indexed: from memory, or read back once (after a restart) from the document and its op. */
  #source(job: JobRow, docId: string): IndexSource {
    const known = this.#sources.get(job.doc_num);
    if (known && known.hlc === job.hlc) return known;
    const text = this.#stmts.text.get(job.doc_num) ?? '';
    const spans = this.#stmts.spans.get(docId, job.hlc);
    const chunks = listOf(spans ? (JSON.parse(spans) as ChunkSpan[]) : chunkText(text));
    const source: IndexSource = { num: job.doc_num, hlc: job.hlc, text, chunks };
    this.#sources.set(job.doc_num, source);
    return source;
  }
}
