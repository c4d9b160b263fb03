// Turns the text of one Markdown, plain-text or HTML document into a document with format-aware chunks.
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import { chunkText } from '../chunk.ts';
import type { ChunkOptions } from '../chunk.ts';
import type { DocumentInput } from '../store.ts';

type Convert = typeof import('html-to-text').convert;
let htmlConverter: Convert | undefined;
/** html-to-text (~15 MB with its parser) is only needed when HTML is ingested: required on first use. */
const convert: Convert = (html, options) => {
  htmlConverter ??= (createRequire(import.meta.url)('html-to-text') as typeof import('html-to-text')).convert;
  return htmlConverter(html, options);
};

export type TextFormat = 'markdown' | 'text' | 'html';

export interface ParsedText {
  title?: string;
  tags?: string[];
  meta?: Record<string, unknown>;
  text: string;
  chunks: DocumentInput['chunks'];
}

export function parseText(raw: string, format: TextFormat, chunking: ChunkOptions = {}): ParsedText {
  if (format === 'markdown') return parseMarkdown(raw, chunking);
  if (format === 'html') return parseHtml(raw, chunking);
  const text = raw.replace(/\r\n?/g, '\n');
  return { text, chunks: chunkText(text, chunking) };
}

// YAML front matter may carry a title and tags; the rest of it is kept as metadata.
function parseMarkdown(raw: string, chunking: ChunkOptions): ParsedText {
  let text = raw.replace(/\r\n?/g, '\n');
  let front: Record<string, unknown> = {};
  const fm = /^---\n([\s\S]*?)\n---\n?/.exec(text);
  if (fm) {
    try {
      const parsed: unknown = parseYaml(fm[1]);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) front = parsed as Record<string, unknown>;
      text = text.slice(fm[0].length);
    } catch {
      // Not YAML after all: keep the text as written.
    }
  }
  const { title: fmTitle, tags: fmTags, ...meta } = front;
  const h1 = /^#\s+(.+?)\s*#*\s*$/m.exec(text)?.[1];
  return {
    title: typeof fmTitle === 'string' ? fmTitle : h1,
    tags: Array.isArray(fmTags) ? fmTags.map(String) : typeof fmTags === 'string' ? fmTags.split(',').map((t) => t.trim()) : undefined,
    meta,
    text,
    chunks: chunkText(text, { ...chunking, markdown: true }),
  };
}

// Headings become Markdown headings so the same heading-aware chunker applies to HTML.
function parseHtml(raw: string, chunking: ChunkOptions): ParsedText {
  const heading = (level: number) => ({ selector: `h${level}`, format: 'mdHeading', options: { level } });
  const text = convert(raw, {
    wordwrap: false,
    formatters: {
      mdHeading(elem, walk, builder, options) {
        builder.openBlock({ leadingLineBreaks: 2 });
        builder.addInline(`${'#'.repeat(Number(options.level ?? 1))} `);
        walk(elem.children, builder);
        builder.closeBlock({ trailingLineBreaks: 2 });
      },
    },
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map(heading),
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'title', format: 'skip' },
    ],
  }).trim();
  const titleTag = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(raw)?.[1];
  const title = titleTag ? convert(titleTag, { wordwrap: false }).trim() : /^#\s+(.+)$/m.exec(text)?.[1];
  return { title: title || undefined, text, chunks: chunkText(text, { ...chunking, markdown: true }) };
}
