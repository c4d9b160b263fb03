// The coded error table: declared once (code, status, OpenAI type, template), thrown by name, rendered in the OpenAI shape, keys masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CapacityRecordInvalid,
  ClientError,
  ConfigError,
  FlowRouterError,
  MeshNotStarted,
  UpstreamError,
  createError,
  renderError,
} from '../../src/core/errors.ts';
import { parseConfig } from '../../src/config/index.ts';
import { capacityKey, validateCapacityEntry } from '../../src/mesh/index.ts';

test('a declared error fills its template, carries its code, status and type, and renders in the OpenAI shape', () => {
  const TooMany = createError('too_many_widgets', 429, 'rate_limit_error', 'widget %s: %s per minute at most');
  const err = new TooMany('w1', 3, { headers: { 'retry-after': '2' }, details: { limit: 3 } });
  assert.ok(err instanceof FlowRouterError && err instanceof TooMany);
  assert.equal(err.name, 'TooManyWidgetsError');
  assert.equal(TooMany.code, 'too_many_widgets');
  assert.equal(TooMany.status, 429);
  assert.deepEqual(renderError(err), {
    status: 429,
    headers: { 'retry-after': '2' },
    body: { error: { message: 'widget w1: 3 per minute at most', type: 'rate_limit_error', code: 'too_many_widgets', param: null, limit: 3 } },
  });
  assert.equal(new MeshNotStarted() instanceof TooMany, false);
});

test('keys in a message are masked when the error is made, whoever throws it', () => {
  const Leak = createError('leak_test', 502, 'api_error', 'upstream said: %s');
  const err = new Leak('bad key sk-proj-abcdefghijklmnopqrstuvwx and my-own-secret-value', { secrets: ['my-own-secret-value'] });
  assert.doesNotMatch(err.message, /abcdefghijklmnop|my-own-secret-value/);
  assert.match(err.message, /sk-proj…/);
  const upstream = new UpstreamError('auth', 'Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz');
  assert.doesNotMatch(JSON.stringify(renderError(upstream).body), /defghijklmnop/);
});

test('the families keep their behaviour: client errors never fall through, upstream failures do, with their statuses', () => {
  assert.equal(new ClientError('bad').status, 400);
  assert.equal(new UpstreamError('client', 'no', { upstreamStatus: 404 }).fallsThrough, false);
  assert.equal(new UpstreamError('client', 'no', { upstreamStatus: 404 }).status, 404);
  assert.equal(new UpstreamError('rate_limit', 'slow down', { retryAfterMs: 1500 }).headers['retry-after'], '2');
  assert.equal(new UpstreamError('timeout', 't').status, 504);
  assert.equal(new UpstreamError('server', 's').fallsThrough, true);
  assert.deepEqual(renderError(new Error('internal detail')).body.error.code, 'internal_error');
});

test('config errors and mesh errors are coded errors from the table', async () => {
  assert.throws(
    () => parseConfig('chains: {}\nbogus: 1\n', 'c.yaml', {}),
    (err: unknown) => err instanceof ConfigError && (err as FlowRouterError).code === 'config_invalid',
  );
  await assert.rejects(
    validateCapacityEntry(capacityKey('12D3KooWabc'), new TextEncoder().encode('not json')),
    (err: unknown) =>
      err instanceof CapacityRecordInvalid
      && (err as FlowRouterError).code === 'mesh_capacity_record_invalid'
      && /capacity record is not JSON/.test((err as Error).message),
  );
});
