// The limits gossip message: one member's own counters per key (grow-only within its run), its acknowledgements of
// what it has seen of others', and whom it hears; checked field by field, since any member may send anything.

/** A second's counts of one key on one member: requests, tokens taken, tokens given back (a hold settled lower). */
export type WireCell = [sec: number, requests: number, tokensIn: number, tokensOut: number];
/** A budget period's spend of one key on one member: settled USD, and USD held then released by requests in flight. */
export type WireSpend = [period: string, spentUsd: number, heldIn: number, heldOut: number];
/** "I have seen `origin`'s run `epoch` admit `a` requests and make `h` budget holds of `key`". */
export type WireAck = [origin: string, epoch: number, key: string, a: number, h: number];

export interface WireKey {
  k: string;
  /** Admissions and budget holds of this key in the sender's run: what acknowledgements refer to. */
  a: number;
  h: number;
  /** Seconds of the last minute with counts. */
  r?: WireCell[];
  s?: WireSpend[];
}

export interface LimitsMessage {
  v: 1;
  /** The sender's run: its start time in microseconds, so a restart is a new, later run. */
  e: number;
  /** Members whose counters the sender receives and holds (it is in contact with them from its side). */
  hears: string[];
  /** Present on every part of a full snapshot: the sender's whole state, which makes the receiver synced with it. */
  snap?: { id: number; part: number; parts: number };
  /** A heartbeat: it repeats what still waits for acknowledgements, and every key in it is acknowledged again. */
  hb?: true;
  /** The sender has requests waiting for acknowledgements of the keys it carries: acknowledge them at once. */
  ask?: true;
  keys?: WireKey[];
  acks?: WireAck[];
}

export const LIMITS_TOPIC = '/flowrouter/limits/1';
/** Largest message accepted; snapshots are cut into parts well below it. */
export const MAX_LIMITS_MESSAGE_BYTES = 512 * 1024;
export const KEYS_PER_MESSAGE = 200;
export const ACKS_PER_MESSAGE = 1000;

const KEY_ID = /^[0-9a-f]{16}$/;
const PERIOD = /^\d{4}-\d{2}(-\d{2})?$/;
const count = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e15;
const peer = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

function isCell(c: unknown): c is WireCell {
  return Array.isArray(c) && c.length === 4 && Number.isSafeInteger(c[0]) && c[0] > 0 && count(c[1]) && count(c[2]) && count(c[3]);
}

function isSpend(s: unknown): s is WireSpend {
  return Array.isArray(s) && s.length === 4 && typeof s[0] === 'string' && PERIOD.test(s[0]) && count(s[1]) && count(s[2]) && count(s[3]);
}

function isKey(k: unknown): k is WireKey {
  if (typeof k !== 'object' || k === null) return false;
  const x = k as Record<string, unknown>;
  return (
    typeof x.k === 'string'
    && KEY_ID.test(x.k)
    && count(x.a)
    && count(x.h)
    && (x.r === undefined || (Array.isArray(x.r) && x.r.length <= 61 && x.r.every(isCell)))
    && (x.s === undefined || (Array.isArray(x.s) && x.s.length <= 4 && x.s.every(isSpend)))
  );
}

function isAck(a: unknown): a is WireAck {
  return (
    Array.isArray(a)
    && a.length === 5
    && peer(a[0])
    && Number.isSafeInteger(a[1])
    && typeof a[2] === 'string'
    && KEY_ID.test(a[2])
    && count(a[3])
    && count(a[4])
  );
}

/** The message when every field has the shape and bounds above, else null. */
export function parseLimitsMessage(input: unknown): LimitsMessage | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const m = input as Record<string, unknown>;
  if (m.v !== 1 || !Number.isSafeInteger(m.e) || (m.e as number) <= 0) return null;
  if (!Array.isArray(m.hears) || m.hears.length > 1024 || !m.hears.every(peer)) return null;
  if (m.snap !== undefined) {
    const s = m.snap as Record<string, unknown>;
    if (
      typeof s !== 'object'
      || s === null
      || !Number.isSafeInteger(s.id)
      || !Number.isSafeInteger(s.part)
      || !Number.isSafeInteger(s.parts)
      || (s.parts as number) < 1
      || (s.parts as number) > 10_000
      || (s.part as number) < 0
      || (s.part as number) >= (s.parts as number)
    )
      return null;
  }
  if ((m.hb !== undefined && m.hb !== true) || (m.ask !== undefined && m.ask !== true)) return null;
  if (m.keys !== undefined && (!Array.isArray(m.keys) || m.keys.length > KEYS_PER_MESSAGE || !m.keys.every(isKey))) return null;
  if (m.acks !== undefined && (!Array.isArray(m.acks) || m.acks.length > ACKS_PER_MESSAGE || !m.acks.every(isAck))) return null;
  return m as unknown as LimitsMessage;
}
