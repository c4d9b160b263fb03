// Requests and tokens a target took in the last minute, for its RPM/TPM limits: reserve an estimate before, settle to the real count after.
const MINUTE = 60_000;

interface Entry {
  at: number;
  tokens: number;
}

export class UsageWindow {
  private entries: Entry[] = [];

  private prune(now: number): void {
    while (this.entries.length && this.entries[0].at <= now - MINUTE) this.entries.shift();
  }

  requests(now: number): number {
    this.prune(now);
    return this.entries.length;
  }

  tokens(now: number): number {
    this.prune(now);
    return this.entries.reduce((sum, e) => sum + e.tokens, 0);
  }

  /** Records a request with its estimated tokens; returns a handle to settle with the real count. */
  reserve(now: number, tokens: number): { settle(actual: number | undefined): void } {
    const entry = { at: now, tokens };
    this.entries.push(entry);
    return { settle: (actual) => { if (actual !== undefined) entry.tokens = actual; } };
  }
}

/** Why a target cannot take this request right now, or undefined when it can. */
export function limitReached(target: { maxConcurrency?: number; rpm?: number; tpm?: number }, inFlight: number, usage: UsageWindow, now: number, tokens: () => number): string | undefined {
  if (target.maxConcurrency !== undefined && inFlight >= target.maxConcurrency) return `concurrency limit ${target.maxConcurrency} reached`;
  if (target.rpm !== undefined && usage.requests(now) >= target.rpm) return `rpm limit ${target.rpm} reached`;
  if (target.tpm !== undefined) {
    const used = usage.tokens(now);
    // A request larger than the whole budget would never fit: let it through when the window is empty rather than starve it.
    if (used > 0 && used + tokens() > target.tpm) return `tpm limit ${target.tpm} reached`;
  }
  return undefined;
}
