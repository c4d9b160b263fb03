// Hybrid logical clock: timestamps that order replicated writes (knowledge documents, client keys) even when wall clocks drift a little.
import { ClientError } from '../core/errors.ts';

const WALL_DIGITS = 15;
const COUNTER_DIGITS = 5;
const COUNTER_MAX = 10 ** COUNTER_DIGITS - 1;

export interface HlcParts {
  wall: number;
  counter: number;
  origin: string;
}

/** Fixed-width `wall.counter.origin`, so plain string comparison orders by wall, then counter, then origin. */
export function encodeHlc(p: HlcParts): string {
  return `${String(p.wall).padStart(WALL_DIGITS, '0')}.${String(p.counter).padStart(COUNTER_DIGITS, '0')}.${p.origin}`;
}

export function decodeHlc(hlc: string): HlcParts {
  const m = /^(\d{15})\.(\d{5})\.(.+)$/s.exec(hlc);
  if (!m) throw new ClientError(`Malformed HLC timestamp: ${hlc.slice(0, 64)}`, { code: 'invalid_hlc' });
  return { wall: Number(m[1]), counter: Number(m[2]), origin: m[3] };
}

export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class HybridClock {
  readonly origin: string;
  readonly maxDriftMs: number;
  #now: () => number;
  #wall = 0;
  #counter = 0;

  constructor(origin: string, opts: { now?: () => number; maxDriftMs?: number; last?: string | null } = {}) {
    this.origin = origin;
    this.#now = opts.now ?? Date.now;
    this.maxDriftMs = opts.maxDriftMs ?? 5 * 60_000;
    if (opts.last) this.#advanceTo(decodeHlc(opts.last));
  }

  /** A new timestamp for a local event, greater than every timestamp this clock has seen. */
  tick(): string {
    const now = this.#now();
    if (now > this.#wall) {
      this.#wall = now;
      this.#counter = 0;
    } else this.#bump();
    return encodeHlc({ wall: this.#wall, counter: this.#counter, origin: this.origin });
  }

  /** Merges a remote timestamp; one far ahead of local time is refused (a Pi booting without an RTC says 1970 or 2038). */
  receive(remote: string): void {
    const parts = decodeHlc(remote);
    const now = this.#now();
    if (parts.wall > now + this.maxDriftMs) {
      throw new ClientError(`Remote HLC ${remote.slice(0, 40)} is ${Math.round((parts.wall - now) / 1000)} s ahead of the local clock`, { code: 'clock_skew' });
    }
    this.#advanceTo(parts);
  }

  /** Moves past a timestamp this node already holds (its own log), with no drift check: local data is not a peer's claim. */
  witness(held: string): void {
    this.#advanceTo(decodeHlc(held));
  }

  #advanceTo(p: HlcParts): void {
    if (p.wall > this.#wall || (p.wall === this.#wall && p.counter > this.#counter)) {
      this.#wall = p.wall;
      this.#counter = p.counter;
    }
  }

  // The counter is fixed-width; on overflow borrow the next millisecond rather than break the ordering.
  #bump(): void {
    if (this.#counter >= COUNTER_MAX) {
      this.#wall += 1;
      this.#counter = 0;
    } else this.#counter += 1;
  }
}
