// The per-credential refusal memory: bounded, cools down, forgets a credential once it works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamError } from '../../src/core/errors.ts';
import { RefusedCredentials } from '../../src/router/own-credentials.ts';

const refused = (status: number) => new UpstreamError(status === 429 ? 'rate_limit' : 'auth', `upstream returned ${status}`, { upstreamStatus: status });

test('remembers at most maxEntries credentials however many callers fail', () => {
  const r = new RefusedCredentials({ maxEntries: 16 });
  for (let i = 0; i < 10_000; i++) r.failed(`cred-${i}`, refused(401), i);
  assert.equal(r.size, 16);
});

test('a credential refused `failures` times is answered here until the cooldown passes', () => {
  const r = new RefusedCredentials({ failures: 3, windowMs: 60_000, cooldownMs: 30_000 });
  for (const t of [0, 1, 2]) {
    assert.equal(r.refusal('k', t), undefined);
    r.failed('k', refused(403), t);
  }
  const e = r.refusal('k', 10);
  assert.ok(e instanceof UpstreamError);
  assert.equal(e.upstreamStatus, 403);
  assert.equal(r.refusal('k', 30_003), undefined);
});

test("an upstream 429 on the caller's credential is not remembered as a refusal (it passes by itself)", () => {
  const r = new RefusedCredentials({ failures: 1 });
  r.failed('k', refused(429), 0);
  assert.equal(r.refusal('k', 1), undefined);
});

test('a success forgets the earlier refusals', () => {
  const r = new RefusedCredentials({ failures: 2 });
  r.failed('k', refused(401), 0);
  r.succeeded('k');
  r.failed('k', refused(401), 1);
  assert.equal(r.refusal('k', 2), undefined);
});
