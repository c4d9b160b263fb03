// Ingestion: from files or raw text to documents ready for KnowledgeStore.putMany.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ClientError } from '../../core/errors.ts';
import type { ChunkOptions } from '../chunk.ts';
import { DEFAULT_COLLECTION, sha256, stableDocId, validateCollection } from '../ids.ts';
import type { DocumentInput } from '../store.ts';
import { parseText } from './formats.ts';
import type { TextFormat } from './formats.ts';
import { parseJsonLines } from './jsonl.ts';
import { pdfToText } from './pdf.ts';

export { resolveInputs, INGESTIBLE_EXTENSIONS } from './files.ts';
export type { ResolvedFile } from './files.ts';
export { parseText } from './formats.ts';
export type { TextFormat } from './formats.ts';
export { parseJsonLines } from './jsonl.ts';

export type IngestFormat = TextFormat | 'jsonl' | 'pdf';

export interface IngestOptions {
  collection?: string;
  tags?: string[];
  chunking?: ChunkOptions;
}

export function formatOf(path: string): IngestFormat {
  const ext = extname(path).slice(1).toLowerCase();
  if (['md', 'markdown', 'mdx'].includes(ext)) return 'markdown';
  if (['txt', 'text', ''].includes(ext)) return 'text';
  if (['html', 'htm'].includes(ext)) return 'html';
  if (['jsonl', 'ndjson'].includes(ext)) return 'jsonl';
  if (ext === 'pdf') return 'pdf';
  throw new ClientError(`Unsupported file type .${ext} (${path}); use Markdown, text, HTML, JSON Lines or PDF`, { code: 'unsupported_format' });
}

/** One text document; its id is stable for the same collection and source (or text, when there is no source). */
export function documentFromText(raw: string, opts: IngestOptions & { format: TextFormat; source: string; id?: string; title?: string }): DocumentInput {
  const collection = validateCollection(opts.collection ?? DEFAULT_COLLECTION);
  const parsed = parseText(raw, opts.format, opts.chunking);
  return {
    id: opts.id ?? stableDocId(collection, opts.source || `text-${sha256(raw).slice(0, 16)}`),
    collection,
    source: opts.source,
    title: opts.title ?? parsed.title ?? opts.source,
    tags: [...(opts.tags ?? []), ...(parsed.tags ?? [])],
    meta: parsed.meta ?? {},
    text: parsed.text,
    chunks: parsed.chunks,
  };
}

/** Reads one file; `source` is its path relative to the ingestion root. */
export async function documentsFromFile(path: string, source: string, opts: IngestOptions = {}): Promise<DocumentInput[]> {
  const format = formatOf(path);
  if (format === 'pdf') {
    const pdf = await pdfToText(await readFile(path), source);
    return [documentFromText(pdf.text, { ...opts, format: 'text', source, title: pdf.title })];
  }
  const raw = await readFile(path, 'utf8');
  if (format === 'jsonl') return parseJsonLines(raw, { collection: opts.collection, source, tags: opts.tags, chunking: opts.chunking });
  return [documentFromText(raw, { ...opts, format, source })];
}
