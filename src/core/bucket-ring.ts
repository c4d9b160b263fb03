// Counts and sums over a sliding span of time, kept in a fixed ring of time buckets: constant memory, O(1) to add and read.

/** Where an amount was added: pass it back to `adjust` to correct that amount while its bucket is still in the span. */
export type BucketRef = number;

/**
 * A sliding window of `buckets` buckets of `spanMs / buckets` each (by default sixty one-second buckets: the last
 * minute). An amount counts from the moment it is added until its bucket leaves the span, i.e. for between
 * `spanMs - bucketMs` and `spanMs`. Clocks may be any milliseconds (performance.now() or Date.now()): a time a little
 * earlier than the newest one seen counts in the newest bucket, one more than a span earlier empties the window.
 */
export class BucketRing {
  readonly spanMs: number;
  readonly bucketMs: number;
  private readonly size: number;
  /** Bucket number (floor(t / bucketMs)) each slot holds. */
  private readonly ids: Float64Array;
  private readonly counts: Float64Array;
  private readonly sums: Float64Array;
  private newest = -Infinity;
  private count = 0;
  private sum = 0;

  constructor(spanMs = 60_000, buckets = 60) {
    this.spanMs = spanMs;
    this.size = buckets;
    this.bucketMs = spanMs / buckets;
    this.ids = new Float64Array(buckets).fill(-Infinity);
    this.counts = new Float64Array(buckets);
    this.sums = new Float64Array(buckets);
  }

  private slot(bucket: number): number {
    return ((bucket % this.size) + this.size) % this.size;
  }

  /** Moves the window to `now`, emptying the buckets that left it (at most `size` of them, however long the gap). */
  private advance(now: number): number {
    const bucket = Math.floor(now / this.bucketMs);
    // A wall clock set back by more than the span (NTP on a Pi without a clock chip) starts the window afresh rather
    // than keep what it holds until the clock catches up.
    if (bucket < this.newest - this.size) this.reset();
    if (bucket <= this.newest) return this.newest;
    // After a gap of a whole span every bucket has left: restart from exact zeros, whatever rounding the totals took.
    const gone = bucket - this.newest >= this.size;
    if (gone) {
      this.count = 0;
      this.sum = 0;
    }
    for (let b = Math.max(this.newest + 1, bucket - this.size + 1); b <= bucket; b++) {
      const s = this.slot(b);
      if (!gone) {
        this.count -= this.counts[s];
        this.sum -= this.sums[s];
      }
      this.counts[s] = 0;
      this.sums[s] = 0;
      this.ids[s] = b;
    }
    this.newest = bucket;
    return bucket;
  }

  /** Adds `amount` (and `count` events) at `now`. */
  add(now: number, amount: number, count = 1): BucketRef {
    const bucket = this.advance(now);
    const s = this.slot(bucket);
    this.counts[s] += count;
    this.sums[s] += amount;
    this.count += count;
    this.sum += amount;
    return bucket;
  }

  /** Corrects an amount added earlier; a no-op once its bucket has left the span. */
  adjust(ref: BucketRef, delta: number): void {
    const s = this.slot(ref);
    if (this.ids[s] !== ref || delta === 0) return;
    this.sums[s] += delta;
    this.sum += delta;
  }

  /** Events added within the span ending at `now`. */
  events(now: number): number {
    this.advance(now);
    return this.count;
  }

  /** Sum of the amounts added within the span ending at `now`. */
  total(now: number): number {
    this.advance(now);
    return this.sum;
  }

  /** Milliseconds from `now` until at least `amount` of the current total has left the span (the span if never). */
  msUntilFreed(now: number, amount: number): number {
    const newest = this.advance(now);
    let freed = 0;
    for (let b = newest - this.size + 1; b <= newest; b++) {
      const s = this.slot(b);
      if (this.ids[s] !== b) continue;
      freed += this.sums[s];
      if (freed >= amount) return Math.max(0, (b + this.size) * this.bucketMs - now);
    }
    return this.spanMs;
  }

  /** Empties the window. */
  clear(): void {
    // Cheap when already empty: breakers clear on every success.
    if (this.count === 0 && this.sum === 0) return;
    this.reset();
  }

  private reset(): void {
    this.ids.fill(-Infinity);
    this.counts.fill(0);
    this.sums.fill(0);
    this.newest = -Infinity;
    this.count = 0;
    this.sum = 0;
  }

  /** Buckets holding anything (at most the ring's size): for tests and introspection. */
  heldBuckets(): number {
    let n = 0;
    for (let s = 0; s < this.size; s++) if (this.counts[s] !== 0 || this.sums[s] !== 0) n++;
    return n;
  }
}
