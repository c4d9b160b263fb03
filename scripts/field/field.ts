// What every field-test scenario works with: the Pis, the lab's network controls, and the checks that fail a scenario.
import type { Pi } from './pi.ts';

export interface Field {
  boot: Pi;
  peers: [Pi, Pi, Pi];
  stranger: Pi;
  /** Where documents and request bodies are written (outside the checkout). */
  work: string;
  partitionSeconds: number;
  /** The lab's partition controls. */
  partition(sideA: Pi[], sideB: Pi[]): Promise<void>;
  heal(): Promise<void>;
  setLink(pi: Pi, up: boolean): Promise<void>;
  /** Named durations for the report (and the benchmark). */
  timings: Record<string, number>;
  say(line: string): void;
  /** Filled by the join scenario: the bootstrap node's address as its start printed it. */
  bootstrapAddress?: string;
}

export interface Scenario {
  name: string;
  run(f: Field): Promise<void>;
}

export function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(what);
}

/** Polls until `probe` returns a truthy value; fails with `what` (and the last value seen) after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const all = (f: Field): Pi[] => [f.boot, ...f.peers];
/** Whether one line of the Pi's log holds every one of `parts`. */
export const logged = (pi: Pi, ...parts: string[]): boolean =>
  pi
    .log()
    .split('\n')
    .some((line) => parts.every((p) => line.includes(p)));
