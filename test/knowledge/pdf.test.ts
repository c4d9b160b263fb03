// PDF ingestion: the text of every page becomes a searchable document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore, documentsFromFile } from '../../src/knowledge/index.ts';
import { tempDir } from '../helpers.ts';

/** A minimal, valid two-page PDF with a title, built byte by byte (offsets in the xref table must be exact). */
function makePdf(title: string, pages: string[]): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = `<< /Type /Catalog /Pages 2 0 R >>`;
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>`;
  pages.forEach((text, i) => {
    const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
    objects[4 + i * 2] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    objects[5 + i * 2] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  });
  const infoId = objects.length;
  objects[infoId] = `<< /Title (${title}) >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out);
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n${offsets
    .slice(1)
    .map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)
    .join('')}`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info ${infoId} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

test('a PDF is ingested with its title and the text of every page, and is searchable', async () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'kb.db'));
  try {
    const file = join(dir.path, 'manual.pdf');
    writeFileSync(file, makePdf('Pump Manual', ['The centrifugal pump needs priming before start.', 'Replace the impeller seal every two years.']));
    const docs = await documentsFromFile(file, 'manual.pdf', { collection: 'manuals' });
    assert.equal(docs.length, 1);
    assert.equal(docs[0].title, 'Pump Manual');
    assert.match(docs[0].text, /priming before start/);
    assert.match(docs[0].text, /impeller seal/);
    const store = new KnowledgeStore(db, 'origin-a');
    store.putMany(docs);
    const hits = store.search('impeller', { collection: 'manuals' });
    assert.equal(hits[0]?.docId, docs[0].id);
  } finally {
    db.close();
    dir.remove();
  }
});

test('a file that is not a PDF is a clear client error', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'fake.pdf');
    writeFileSync(file, 'this is not a pdf');
    await assert.rejects(
      documentsFromFile(file, 'fake.pdf'),
      (err: Error & { status?: number }) => err.status === 400 && /not a readable PDF/.test(err.message),
    );
  } finally {
    dir.remove();
  }
});
