// Renders rows as an aligned plain-text table for the terminal (numbers right-aligned).

export function renderTable(columns: { key: string; title: string; format?: (v: unknown) => string }[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => (c.format ? c.format(r[c.key]) : String(r[c.key] ?? ''))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const numeric = columns.map((_, i) => cells.length > 0 && cells.every((row) => row[i] === '' || /^[-$]?[\d.,]+%?$/.test(row[i])));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export const usd = (v: unknown) => `$${Number(v ?? 0).toFixed(4)}`;
export const int = (v: unknown) => Math.round(Number(v ?? 0)).toLocaleString('en-US');
export const ms = (v: unknown) => (v === null || v === undefined ? '' : Number(v).toFixed(1));
