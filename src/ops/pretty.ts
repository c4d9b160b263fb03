// A terminal-friendly log destination: pino's JSON lines become `time level msg k=v …` (used when pino-pretty is absent).
import { Transform } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, or that say nothing to a person reading a terminal. */
const SKIPPED = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'v']);

function valueText(v: unknown): string {
  if (typeof v === 'string') return /[\s="]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** Formats one pino JSON line; lines that are not JSON pass through unchanged. */
export function formatPrettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level ?? '');
  const fields = Object.entries(entry)
    .filter(([k, v]) => !SKIPPED.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${valueText(v)}`);
  return [time, level.padEnd(5), entry.msg ?? '', ...fields].filter((s) => s !== '').join(' ');
}

/** A Transform that turns pino's output into pretty lines; pipe it to stdout (or any stream). */
export function prettyStream(out: NodeJS.WritableStream = process.stdout): Transform {
  let rest = '';
  const t = new Transform({
    transform(chunk: Buffer | string, _enc, cb) {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      cb(
        null,
        lines
          .filter((l) => l !== '')
          .map((l) => `${formatPrettyLine(l)}\n`)
          .join(''),
      );
    },
    flush(cb) {
      cb(null, rest ? `${formatPrettyLine(rest)}\n` : '');
    },
  });
  t.pipe(out);
  return t;
}
