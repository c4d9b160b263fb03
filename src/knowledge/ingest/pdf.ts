// PDF text extraction (unpdf, a pure-JS PDF.js build): pages become paragraphs of one plain-text document.
import { ClientError } from '../../core/errors.ts';

export interface PdfText {
  title?: string;
  text: string;
  pages: number;
}

export async function pdfToText(bytes: Uint8Array, source: string): Promise<PdfText> {
  // Loaded on first use: PDF.js is large and most nodes never ingest a PDF.
  const { extractText, getDocumentProxy, getMeta } = await import('unpdf');
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes));
  } catch (err) {
    throw new ClientError(`${source}: not a readable PDF (${err instanceof Error ? err.message : 'parse error'})`, { code: 'invalid_pdf' });
  }
  try {
    const { totalPages, text } = await extractText(pdf, { mergePages: false });
    const meta = await getMeta(pdf).catch(() => ({ info: {} as Record<string, unknown> }));
    const title = typeof meta.info?.Title === 'string' && meta.info.Title.trim() ? meta.info.Title.trim() : undefined;
    return {
      title,
      pages: totalPages,
      text: text
        .map((page) => page.trim())
        .filter(Boolean)
        .join('\n\n'),
    };
  } finally {
    await pdf.cleanup();
  }
}
