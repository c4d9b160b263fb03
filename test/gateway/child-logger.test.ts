// The deferred per-request logger: no pino child is made for a request that logs nothing, and lines it does log
// carry the request's bindings and the parent's redaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { deferredChildLogger } from '../../src/gateway/child-logger.ts';
import { REDACT_PATHS } from '../../src/ops/index.ts';

function logger(level: string) {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on('data', (c: Buffer) => {
    for (const l of c.toString().trim().split('\n')) lines.push(JSON.parse(l));
  });
  const parent = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, out);
  let children = 0;
  const child = parent.child;
  parent.child = function (this: typeof parent, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof child;
  return { parent, lines, children: () => children };
}

const flush = () => new Promise((r) => setImmediate(r));

test('a request that logs below the level never makes a child logger', async () => {
  const l = logger('warn');
  const log = deferredChildLogger(l.parent, { reqId: 'r-1' });
  log.info({ a: 1 }, 'quiet');
  log.debug('quieter');
  assert.equal(log.level, 'warn');
  await flush();
  assert.equal(l.children(), 0);
  assert.equal(l.lines.length, 0);
});

test('an enabled line carries the request bindings and is redacted; the child is made once', async () => {
  const l = logger('info');
  const log = deferredChildLogger(l.parent, { reqId: 'r-2' });
  log.info({ headers: { authorization: 'Bearer sk-secret-zzzzzzzz' } }, 'first');
  log.warn('second');
  assert.equal(l.children(), 1);
  log.child({ component: 'x' }).error('third');
  await flush();
  assert.deepEqual(
    l.lines.map((x) => [x.msg, x.reqId]),
    [
      ['first', 'r-2'],
      ['second', 'r-2'],
      ['third', 'r-2'],
    ],
  );
  assert.equal((l.lines[0].headers as Record<string, string>).authorization, '[redacted]');
  assert.equal(l.lines[2].component, 'x');
});

test('a parent without level checks (fastify logger: false) gets an ordinary child', () => {
  const calls: unknown[] = [];
  const noop = () => {};
  const parent = {
    level: 'silent',
    fatal: noop,
    error: noop,
    warn: noop,
    info: noop,
    debug: noop,
    trace: noop,
    silent: noop,
    child: (b: unknown) => {
      calls.push(b);
      return parent;
    },
  };
  assert.equal(deferredChildLogger(parent, { reqId: 'r-3' }), parent);
  assert.deepEqual(calls, [{ reqId: 'r-3' }]);
});
