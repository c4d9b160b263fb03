// A document's chunk spans either as objects or packed into typed arrays: a 16 MiB document has some 60,000 chunks,
// and packed spans cross a worker boundary without cloning an object per chunk.
import type { ChunkSpan } from './chunk.ts';

/** Read access to chunk spans, however they are held. */
export interface ChunkList {
  readonly length: number;
  heading(i: number): string;
  start(i: number): number;
  end(i: number): number;
}

/** Spans as typed arrays plus each distinct heading once (headings repeat across a section's chunks). */
export interface PackedChunks {
  starts: Int32Array;
  ends: Int32Array;
  headingOf: Int32Array;
  headings: string[];
}

export function listOf(chunks: readonly ChunkSpan[] | PackedChunks): ChunkList {
  if (Array.isArray(chunks)) {
    const spans = chunks as readonly ChunkSpan[];
    return { length: spans.length, heading: (i) => spans[i].heading, start: (i) => spans[i].start, end: (i) => spans[i].end };
  }
  const p = chunks as PackedChunks;
  return { length: p.starts.length, heading: (i) => p.headings[p.headingOf[i]], start: (i) => p.starts[i], end: (i) => p.ends[i] };
}

export function packChunks(spans: readonly ChunkSpan[]): PackedChunks {
  const starts = new Int32Array(spans.length);
  const ends = new Int32Array(spans.length);
  const headingOf = new Int32Array(spans.length);
  const headings: string[] = [];
  const index = new Map<string, number>();
  spans.forEach((s, i) => {
    let h = index.get(s.heading);
    if (h === undefined) {
      h = headings.push(s.heading) - 1;
      index.set(s.heading, h);
    }
    starts[i] = s.start;
    ends[i] = s.end;
    headingOf[i] = h;
  });
  return { starts, ends, headingOf, headings };
}

/** The typed arrays' buffers, to transfer rather than copy. */
export function transferablesOf(p: PackedChunks): ArrayBuffer[] {
  return [p.starts.buffer, p.ends.buffer, p.headingOf.buffer] as ArrayBuffer[];
}
