// Knowledge-base benchmark: ingest rate, index size and search latency on a synthetic Zipf-distributed corpus.
// Run: node_modules/.bin/node scripts/bench/kb.ts [--chunks 100000] [--queries 1000] [--words 60] [--db file] [--keep] [--slow]
// The issue's second size is `--chunks 1000000` (a few minutes of ingestion on 2 cores; add `--db file --keep` to time
// searches again later without re-ingesting). With --db naming a file that already holds the corpus, ingestion is
// skipped and only searches are timed. --slow prints the three slowest queries of each kind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore, chunkText } from '../../src/knowledge/index.ts';
import type { ChunkSpan, DocumentInput } from '../../src/knowledge/index.ts';

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '1000' },
    words: { type: 'string', default: '60' },
    db: { type: 'string' },
    keep: { type: 'boolean', default: false },
    slow: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(args.chunks);
const WORDS = Number(args.words);
const QUERIES = Number(args.queries);
const CHUNKS_PER_DOC = 10;
const DOCS_PER_BATCH = Number(process.env.KB_BATCH ?? 1000);
const VOCAB = 50_000;

// Deterministic PRNG so runs are comparable.
let seed = 0x9e3779b9;
function random(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'be', 'da', 'fu', 'go', 'hi', 'ja', 'ko', 'pe', 'qui', 'ze', 'tra', 'son'];
const vocab = Array.from({ length: VOCAB }, (_, i) => {
  let w = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / syllables.length)) w += syllables[n % syllables.length];
  return w;
});
// Zipf (s = 1) by inverse CDF over the ranks, like natural-language word frequencies.
const cdf = new Float64Array(VOCAB);
let acc = 0;
for (let i = 0; i < VOCAB; i++) {
  acc += 1 / (i + 1);
  cdf[i] = acc;
}
function zipfWord(): string {
  const x = random() * acc;
  let lo = 0;
  let hi = VOCAB - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return vocab[lo];
}

function makeDoc(n: number): DocumentInput {
  const parts: string[] = [];
  const chunks: ChunkSpan[] = [];
  let offset = 0;
  for (let c = 0; c < CHUNKS_PER_DOC; c++) {
    const words = Array.from({ length: WORDS }, zipfWord);
    const text = `${words.join(' ')}.`;
    chunks.push({ heading: `Section ${c}`, start: offset, end: offset + text.length });
    parts.push(text);
    offset += text.length + 2;
  }
  return {
    id: `doc-${n}`,
    collection: `c${n % 8}`,
    source: `corpus/doc-${n}.md`,
    title: `${zipfWord()} ${zipfWord()}`,
    tags: [`t${n % 5}`],
    text: parts.join('\n\n'),
    chunks,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dir = args.db ? null : mkdtempSync(join(tmpdir(), 'kb-bench-'));
const file = args.db ?? join(dir!, 'bench.db');
const reuse = args.db !== undefined && existsSync(args.db);
const db = openDatabase(file);
// Connection tuning a deployment may choose; the defaults (2 MiB page cache, no mmap) are what openDatabase gives.
if (process.env.KB_CACHE_MB) db.pragma(`cache_size = -${Number(process.env.KB_CACHE_MB) * 1024}`);
if (process.env.KB_MMAP_MB) db.pragma(`mmap_size = ${Number(process.env.KB_MMAP_MB) * 1048576}`);
console.log(`sqlite: cache_size ${db.pragma('cache_size', { simple: true })}, mmap_size ${db.pragma('mmap_size', { simple: true })}`);
const store = new KnowledgeStore(db, 'bench-node');

// Wall time suffers when other processes share the CPUs, so ingest also reports the rate per CPU-second of this process.
console.log(
  `machine: ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(`corpus: ${TOTAL} chunks of ${WORDS} words (${CHUNKS_PER_DOC} per document), Zipf vocabulary of ${VOCAB} words; db ${file}`);
const sample = makeDoc(-1);
const chunkStart = performance.now();
let chunked = 0;
for (let i = 0; i < 200; i++) chunked += chunkText(sample.text, { maxTokens: 100 }).length;
console.log(`chunker: ${Math.round(chunked / ((performance.now() - chunkStart) / 1000))} chunks/s (gpt-tokenizer budget, paragraph packing)`);

const docs = reuse ? 0 : Math.ceil(TOTAL / CHUNKS_PER_DOC);
let ingestMs = 0;
let ingestCpuUs = 0;
let lastReport = performance.now();
for (let start = 0; start < docs; start += DOCS_PER_BATCH) {
  const batch = Array.from({ length: Math.min(DOCS_PER_BATCH, docs - start) }, (_, i) => makeDoc(start + i));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  store.putMany(batch);
  const cpu = process.cpuUsage(cpu0);
  ingestCpuUs += cpu.user + cpu.system;
  ingestMs += performance.now() - t0;
  if (performance.now() - lastReport > 10_000) {
    lastReport = performance.now();
    const done = (start + batch.length) * CHUNKS_PER_DOC;
    console.log(`  … ${done} chunks, ${Math.round(done / (ingestMs / 1000))} chunks/s`);
  }
}
const chunks = docs * CHUNKS_PER_DOC;
if (reuse) console.log(`ingest: skipped, reusing ${file} (${store.stats().chunks} chunks)`);
else
  console.log(
    `ingest: ${chunks} chunks in ${(ingestMs / 1000).toFixed(1)} s = ${Math.round(chunks / (ingestMs / 1000))} chunks/s wall, `
      + `${Math.round(chunks / (ingestCpuUs / 1e6))} chunks per CPU-second `
      + `(store.putMany, ${DOCS_PER_BATCH} documents per transaction, op log and FTS index included)`,
  );

db.pragma('wal_checkpoint(TRUNCATE)');
const stats = store.stats();
const ftsBytes = (table: string) => (db.prepare(`SELECT sum(length(block)) AS n FROM ${table}_data`).get() as { n: number }).n;
console.log(
  `size: ${(stats.bytes / 1048576).toFixed(1)} MiB total; FTS index ${(ftsBytes('kb_fts') / 1048576).toFixed(1)} MiB; `
    + `${stats.documents} documents, ${stats.ops} ops`,
);

// Query mix: mid-frequency single words, two-word AND, an exact phrase taken from the corpus, a prefix, and a filtered query.
const mid = () => vocab[50 + Math.floor(random() * 5000)];
const kinds: Record<string, () => [string, object]> = {
  word: () => [mid(), {}],
  'two words': () => [`${mid()} ${zipfWord()}`, {}],
  phrase: () => {
    const w = makeDoc(0).text.split(' ');
    const i = Math.floor(random() * 50);
    return [`"${w[i]} ${w[i + 1]}"`, {}];
  },
  prefix: () => [`${mid().slice(0, 5)}*`, {}],
  'word + collection': () => [mid(), { collection: 'c3' }],
  'question (any)': () => [`what is ${mid()} and ${mid()}?`, { mode: 'any' }],
};
for (let i = 0; i < 50; i++) store.search(mid());
const all: number[] = [];
const allCpu: number[] = [];
for (const [kind, make] of Object.entries(kinds)) {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const slowest: [number, string][] = [];
  let hits = 0;
  for (let i = 0; i < Math.ceil(QUERIES / Object.keys(kinds).length); i++) {
    const [q, opts] = make();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    hits += store.search(q, { limit: 10, ...opts }).length;
    const cpu = process.cpuUsage(cpu0);
    times.push(performance.now() - t0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    slowest.push([cpuTimes.at(-1)!, q]);
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  all.push(...times);
  allCpu.push(...cpuTimes);
  console.log(
    `search ${kind.padEnd(18)} p50 ${percentile(times, 50).toFixed(2)} ms  p99 ${percentile(times, 99).toFixed(2)} ms  `
      + `max ${times[times.length - 1].toFixed(2)} ms  | CPU p50 ${percentile(cpuTimes, 50).toFixed(2)} p99 ${percentile(cpuTimes, 99).toFixed(2)} ms  `
      + `(${(hits / times.length).toFixed(1)} results/query)`,
  );
  if (args.slow)
    console.log(
      `  slowest by CPU: ${slowest
        .sort((a, b) => b[0] - a[0])
        .slice(0, 3)
        .map(([ms, q]) => `${JSON.stringify(q)} ${ms.toFixed(1)} ms`)
        .join(', ')}`,
    );
}
all.sort((a, b) => a - b);
allCpu.sort((a, b) => a - b);
console.log(
  `search overall            p50 ${percentile(all, 50).toFixed(2)} ms  p99 ${percentile(all, 99).toFixed(2)} ms  `
    + `| CPU p50 ${percentile(allCpu, 50).toFixed(2)} p99 ${percentile(allCpu, 99).toFixed(2)} ms  (${all.length} queries, limit 10; `
    + `load average now ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
);

db.close();
if (dir && !args.keep) rmSync(dir, { recursive: true, force: true });
