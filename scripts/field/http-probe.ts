// Runs inside a field-test host (its namespace): one HTTP request to the node on that host, answered as one JSON line
// (status, body, x-flowrouter-* headers, time to the whole answer).
// Usage: http-probe.ts <METHOD> <path> [--body-file <file>] [--key <bearer>] [--digest <field>]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'body-file': { type: 'string' }, key: { type: 'string' }, digest: { type: 'string' } },
});
const [method, path] = positionals;
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (values.key) headers.authorization = `Bearer ${values.key}`;
const started = performance.now();
const res = await fetch(`http://127.0.0.1:2402${path}`, {
  method,
  headers,
  body: values['body-file'] ? readFileSync(values['body-file']) : undefined,
  signal: AbortSignal.timeout(60_000),
});
const text = await res.text();
// Timed here, inside the host: the probe process's own start-up is not the node's answer time.
const ms = Math.round(performance.now() - started);
let json: unknown = null;
try {
  json = JSON.parse(text);
} catch {
  /* not JSON: reported as null */
}
const field = values.digest && json && typeof json === 'object' ? (json as Record<string, unknown>)[values.digest] : undefined;
// Large bodies are summarised: the caller compares digests, not megabytes over a pipe.
process.stdout.write(
  `${JSON.stringify({
    status: res.status,
    json: text.length <= 256 * 1024 ? json : null,
    // A stream (SSE) is not JSON: its text, when small.
    text: json === null && text.length <= 256 * 1024 ? text : null,
    headers: Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-flowrouter-'))),
    ms,
    digest: typeof field === 'string' ? createHash('sha256').update(field).digest('hex') : null,
  })}\n`,
);
