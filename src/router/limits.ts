// Requests and tokens a target took in the last minute, for its RPM/TPM limits: reserve an estimate before, settle to the real count after.
import { BucketRing } from '../core/bucket-ring.ts';

/** Requests and tokens in the last minute, in sixty one-second buckets: constant memory and O(1) per call. */
export class UsageWindow {
  private readonly ring = new BucketRing();

  requests(now: number): number {
    return this.ring.events(now);
  }

  tokens(now: number): number {
    return this.ring.total(now);
  }

  /** Records a request with its estimated tokens; returns a handle to settle with the real count. */
  reserve(now: number, tokens: number): { settle(actual: number | undefined): void } {
    const ref = this.ring.add(now, tokens);
    let held = tokens;
    return {
      settle: (actual) => {
        if (actual === undefined) return;
        this.ring.adjust(ref, actual - held);
        held = actual;
      },
    };
  }

  /** Buckets holding anything (at most sixty): what the window keeps, whatever the traffic. */
  heldBuckets(): number {
    return this.ring.heldBuckets();
  }
}

/** Why a target cannot take this request right now, or undefined when it can. */
export function limitReached(
  target: { maxConcurrency?: number; rpm?: number; tpm?: number },
  inFlight: number,
  usage: UsageWindow,
  now: number,
  tokens: () => number,
): string | undefined {
  if (target.maxConcurrency !== undefined && inFlight >= target.maxConcurrency) return `concurrency limit ${target.maxConcurrency} reached`;
  if (target.rpm !== undefined && usage.requests(now) >= target.rpm) return `rpm limit ${target.rpm} reached`;
  if (target.tpm !== undefined) {
    const used = usage.tokens(now);
    // A request larger than the whole budget would never fit: let it through when the window is empty rather than starve it.
    if (used > 0 && used + tokens() > target.tpm) return `tpm limit ${target.tpm} reached`;
  }
  return undefined;
}
