// JSON Lines ingestion: one document per line, `{id, title, text, ...}`, with unknown fields kept as metadata.
import { ClientError } from '../../core/errors.ts';
import { chunkText } from '../chunk.ts';
import type { ChunkOptions } from '../chunk.ts';
import { validateDocId } from '../ids.ts';
import type { DocumentInput } from '../store.ts';

export function parseJsonLines(content: string, opts: { collection?: string; source: string; tags?: string[]; chunking?: ChunkOptions }): DocumentInput[] {
  const docs: DocumentInput[] = [];
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${opts.source} line ${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new ClientError(`${where}: not valid JSON`, { code: 'invalid_jsonl' });
    }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new ClientError(`${where}: expected a JSON object`, { code: 'invalid_jsonl' });
    const { id, title, text, source, collection, tags, ...meta } = rec as Record<string, unknown>;
    if (typeof text !== 'string') throw new ClientError(`${where}: "text" must be a string`, { code: 'invalid_jsonl' });
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number')
      throw new ClientError(`${where}: "id" must be a string`, { code: 'invalid_jsonl' });
    const recordTags = Array.isArray(tags) ? tags.map(String) : [];
    docs.push({
      id: id === undefined ? undefined : validateDocId(String(id)),
      collection: typeof collection === 'string' ? collection : opts.collection,
      source: typeof source === 'string' ? source : `${opts.source}#${id ?? i + 1}`,
      title: typeof title === 'string' ? title : undefined,
      tags: [...(opts.tags ?? []), ...recordTags],
      meta,
      text,
      chunks: chunkText(text, opts.chunking),
    });
  });
  return docs;
}
