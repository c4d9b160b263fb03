// The ring of time buckets behind every sliding window: what it counts, when amounts leave, and that it never grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketRing } from '../../src/core/bucket-ring.ts';

test('an amount counts until its one-second bucket leaves the minute', () => {
  const r = new BucketRing();
  r.add(500, 10);
  r.add(1_500, 5);
  assert.equal(r.events(1_999), 2);
  assert.equal(r.total(59_999), 15);
  // Second 0 leaves when second 60 starts; second 1 stays until second 61.
  assert.equal(r.total(60_000), 5);
  assert.equal(r.events(60_000), 1);
  assert.equal(r.total(61_000), 0);
  assert.equal(r.heldBuckets(), 0);
});

test('adjust corrects an amount while its bucket is in the window and is ignored after', () => {
  const r = new BucketRing();
  const ref = r.add(0, 100);
  r.adjust(ref, -93);
  assert.equal(r.total(30_000), 7);
  r.add(30_000, 1);
  r.adjust(ref, 1_000);
  assert.equal(r.total(59_999), 1_008);
  assert.equal(r.total(60_000), 1);
  r.adjust(ref, 1_000);
  assert.equal(r.total(60_000), 1, 'a bucket that left is never touched again');
});

test('a clock that jumps back adds to the newest bucket, and a long gap empties the ring', () => {
  const r = new BucketRing();
  r.add(10_000, 1);
  r.add(5_000, 1);
  assert.equal(r.total(69_999), 2);
  assert.equal(r.total(70_000), 0);
  r.add(10_000_000, 4);
  assert.equal(r.total(10_000_000), 4);
  assert.equal(r.heldBuckets(), 1);
});

test('a wall clock set back by more than the span starts the window afresh instead of holding it until it catches up', () => {
  const r = new BucketRing();
  r.add(3_600_000, 100);
  assert.equal(r.total(3_600_000), 100);
  assert.equal(r.total(3_600_000 - 120_000), 0);
  r.add(3_600_000 - 120_000, 1);
  assert.equal(r.total(3_600_000 - 119_000), 1);
});

test('msUntilFreed names when the oldest buckets holding enough leave', () => {
  const r = new BucketRing();
  r.add(1_000, 3);
  r.add(20_500, 4);
  assert.equal(r.msUntilFreed(30_000, 3), 31_000);
  assert.equal(r.msUntilFreed(30_000, 5), 50_000);
  assert.equal(r.msUntilFreed(30_000, 8), 60_000, 'never freed: the whole span');
});

test('a span other than a minute: sixty buckets over the breaker window', () => {
  const r = new BucketRing(1_000, 60);
  r.add(0, 1);
  r.add(100, 1);
  assert.equal(r.events(999), 2);
  // Buckets of 16.7 ms: at 1,050 ms the first has left and the second (100 ms) is still in.
  assert.equal(r.events(1_050), 1);
  assert.equal(r.events(1_120), 0);
});
