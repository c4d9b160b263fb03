// Signed, expiring capacity records: how a node tells the mesh what it serves, checkable by anyone holding its peer id.
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import type { CapacityInfo } from './types.ts';
import { CapacityRecordInvalid } from '../core/errors.ts';

/** DHT namespace: keys are `/flowrouter/capacity/<peer id>`. */
export const DHT_NAMESPACE = 'flowrouter';
const KEY_PREFIX = `/${DHT_NAMESPACE}/capacity/`;
/** Records issued further ahead than this are refused (a Pi without a real-time clock must not win forever). */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** Records living longer than this are refused, so a stolen record cannot be replayed for long. */
const MAX_TTL_MS = 24 * 3_600_000;

export interface CapacityRecord {
  peerId: string;
  nodeName: string | null;
  seq: number;
  issuedAt: number;
  expiresAt: number;
  capacity: CapacityInfo;
  /** base64 signature by the peer's key over `canonicalPayload`. */
  signature: string;
}

export function capacityKey(peerId: string): Uint8Array {
  return new TextEncoder().encode(KEY_PREFIX + peerId);
}

/** The content id a node provides for each model it serves, so others can find it with findProviders. */
export async function modelCid(model: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('flowrouter:model:' + model)));
}

export async function chainCid(chain: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('flowrouter:chain:' + chain)));
}

/** JSON with object keys sorted at every level, so signer and verifier hash the same bytes. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function canonicalPayload(r: Omit<CapacityRecord, 'signature'>): Uint8Array {
  const { peerId, nodeName, seq, issuedAt, expiresAt, capacity } = r;
  return new TextEncoder().encode(canonicalJson({ peerId, nodeName, seq, issuedAt, expiresAt, capacity }));
}

export async function signCapacityRecord(key: PrivateKey, fields: Omit<CapacityRecord, 'signature'>): Promise<CapacityRecord> {
  const signature = await key.sign(canonicalPayload(fields));
  return { ...fields, signature: Buffer.from(signature).toString('base64') };
}

export function encodeCapacityRecord(r: CapacityRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(r));
}

function isCapacityInfo(c: unknown): c is CapacityInfo {
  const v = c as CapacityInfo;
  return (
    typeof v === 'object'
    && v !== null
    && Array.isArray(v.models)
    && v.models.every((m) => typeof m === 'string')
    && Array.isArray(v.chains)
    && v.chains.every((m) => typeof m === 'string')
    && typeof v.freeConcurrency === 'number'
    && (v.latencyP50Ms === null || typeof v.latencyP50Ms === 'number')
    && typeof v.errorRate === 'number'
    && typeof v.version === 'string'
  );
}

/** Parses and fully checks a record (shape, lifetime, signature); throws CapacityRecordInvalid saying why it is refused. */
export async function verifyCapacityRecord(bytes: Uint8Array, now = Date.now()): Promise<CapacityRecord> {
  let r: CapacityRecord;
  try {
    r = JSON.parse(new TextDecoder().decode(bytes)) as CapacityRecord;
  } catch {
    throw new CapacityRecordInvalid('is not JSON');
  }
  if (
    typeof r !== 'object'
    || r === null
    || typeof r.peerId !== 'string'
    || !Number.isSafeInteger(r.seq)
    || !Number.isFinite(r.issuedAt)
    || !Number.isFinite(r.expiresAt)
    || typeof r.signature !== 'string'
    || (r.nodeName !== null && typeof r.nodeName !== 'string')
    || !isCapacityInfo(r.capacity)
  ) {
    throw new CapacityRecordInvalid('is malformed');
  }
  if (r.expiresAt <= now) throw new CapacityRecordInvalid('expired');
  if (r.issuedAt > now + MAX_CLOCK_SKEW_MS) throw new CapacityRecordInvalid('issued in the future');
  if (r.expiresAt - r.issuedAt > MAX_TTL_MS || r.expiresAt < r.issuedAt) throw new CapacityRecordInvalid('lifetime out of range');
  let publicKey;
  try {
    publicKey = peerIdFromString(r.peerId).publicKey;
  } catch {
    throw new CapacityRecordInvalid('has an invalid peer id');
  }
  if (!publicKey) throw new CapacityRecordInvalid('peer id carries no public key');
  const ok = await publicKey.verify(canonicalPayload(r), Buffer.from(r.signature, 'base64'));
  if (!ok) throw new CapacityRecordInvalid('signature is invalid');
  return r;
}

/** DHT validator for `/flowrouter/…`: only well-signed, live capacity records stored under their own peer id. */
export async function validateCapacityEntry(key: Uint8Array, value: Uint8Array): Promise<void> {
  const k = new TextDecoder().decode(key);
  if (!k.startsWith(KEY_PREFIX)) throw new CapacityRecordInvalid(`stored under an unknown flowrouter DHT key ${k}`);
  const record = await verifyCapacityRecord(value);
  if (record.peerId !== k.slice(KEY_PREFIX.length)) throw new CapacityRecordInvalid('stored under another peer id');
}

/** DHT selector: the highest sequence number wins, then the newest. */
export function selectCapacityEntry(_key: Uint8Array, values: Uint8Array[]): number {
  let best = 0;
  let bestSeq = -Infinity;
  let bestIssued = -Infinity;
  values.forEach((v, i) => {
    try {
      const r = JSON.parse(new TextDecoder().decode(v)) as CapacityRecord;
      if (r.seq > bestSeq || (r.seq === bestSeq && r.issuedAt > bestIssued)) {
        best = i;
        bestSeq = r.seq;
        bestIssued = r.issuedAt;
      }
    } catch {
      /* an unparsable value never wins */
    }
  });
  return best;
}
