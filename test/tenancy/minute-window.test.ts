// Per-key RPM/TPM windows: take and settle, retry-after from the buckets that must leave, and only live keys kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MinuteWindow } from '../../src/tenancy/limits.ts';

test('take refuses past the limit and says when enough of the minute has passed', () => {
  const w = new MinuteWindow();
  assert.ok(w.take('k', 40, 100, 1_000).ok);
  assert.ok(w.take('k', 40, 100, 20_000).ok);
  const r = w.take('k', 40, 100, 30_000);
  assert.equal(r.ok, false);
  // Freeing 20 needs the first bucket (second 1) to leave, at 61 s: 31 s from now.
  assert.deepEqual(r, { ok: false, retryAfterS: 31, used: 80, tooLarge: false });
  assert.ok(w.take('k', 40, 100, 61_000).ok);
  assert.deepEqual(w.take('k', 101, 100, 61_000), { ok: false, retryAfterS: 60, used: 80, tooLarge: true });
});

test('settle corrects a taken amount to the real figure, never below zero', () => {
  const w = new MinuteWindow();
  const r = w.take('k', 90, 100, 0);
  assert.ok(r.ok);
  r.taken.settle(7);
  assert.equal(w.used('k', 1_000), 7);
  r.taken.settle(-5);
  assert.equal(w.used('k', 1_000), 0);
  assert.ok(w.take('k', 100, 100, 1_000).ok);
});

test('a million takes over ten thousand keys keep only the keys active in the last minute', () => {
  const w = new MinuteWindow();
  const KEYS = 10_000;
  let now = 0;
  for (let i = 0; i < 1_000_000; i++) {
    now = i * 2;
    const r = w.take(`key-${i % KEYS}`, 1, 1_000_000, now);
    assert.ok(r.ok);
  }
  assert.ok(w.keys <= KEYS);
  // Only one key calls from now on: every other key's minute runs out and the sweep drops it.
  for (let i = 0; i < 2 * KEYS; i++) w.take('only', 1, 1_000_000, now + 61_000 + i);
  assert.equal(w.keys, 1);
  assert.equal(w.used('key-1', now + 61_000), 0);
});
