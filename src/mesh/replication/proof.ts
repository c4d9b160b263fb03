// Proofs of origin: the origin node signs each op (and each cache entry) so any peer can relay it but none can forge it.
import { createHash, webcrypto } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey, PublicKey } from '@libp2p/interface';
import { canonicalJson } from '../../cache/index.ts';
import type { CacheEntry } from '../../cache/index.ts';
import type { LogOp, OpHeader } from '../../oplog/index.ts';

const encoder = new TextEncoder();
/** Peer ids seen recently; bounded so a flood of made-up origins cannot grow it without limit. */
const KEY_CACHE_LIMIT = 1024;
const keys = new Map<string, PublicKey | null>();
// WebCrypto verifies on libuv's thread pool, so the ops of a sync batch are checked in parallel, not one by one on the main thread.
const subtleKeys = new WeakMap<PublicKey, Promise<webcrypto.CryptoKey>>();

async function verifyBytes(key: PublicKey, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (key.type !== 'Ed25519') return key.verify(data, sig);
  let k = subtleKeys.get(key);
  if (!k) {
    k = webcrypto.subtle.importKey('raw', key.raw, { name: 'Ed25519' }, false, ['verify']);
    subtleKeys.set(key, k);
  }
  return webcrypto.subtle.verify({ name: 'Ed25519' }, await k, sig, data);
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The public key an Ed25519 (or secp256k1) peer id embeds; null for ids that do not carry one, or that don't parse. */
export function originKey(origin: string): PublicKey | null {
  let key = keys.get(origin);
  if (key !== undefined) return key;
  try {
    key = peerIdFromString(origin).publicKey ?? null;
  } catch {
    key = null;
  }
  if (keys.size >= KEY_CACHE_LIMIT) keys.clear();
  keys.set(origin, key);
  return key;
}

/** Whether `sig` is `origin`'s signature over `data` (any statement a member signs with its mesh key). */
export async function verifyByOrigin(origin: string, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const key = originKey(origin);
  return key !== null && verifyBytes(key, data, sig);
}

// The signature covers the log's domain, the op's header and a hash of its payload, so an op whose content compaction
// dropped still verifies, and an op signed for one log (the knowledge base) is never valid in another (the client keys).
function opBytes(op: OpHeader, payloadHash: string, domain: string): Uint8Array {
  const { origin, seq, hlc, docId, kind } = op;
  return encoder.encode(`flowrouter/${domain}/1\n${canonicalJson({ origin, seq, hlc, docId, kind, payloadHash })}`);
}

/** `<payload sha-256 hex>.<signature base64url>`, the string the store keeps with the op. */
export async function signOp(key: PrivateKey, op: LogOp, domain = 'kb-op'): Promise<string> {
  return signOpDigest(key, op, sha256Hex(canonicalJson(op.payload)), domain);
}

/** `signOp` with the payload's digest already computed (a large payload, digested off the main thread). */
export async function signOpDigest(key: PrivateKey, op: OpHeader, payloadHash: string, domain = 'kb-op'): Promise<string> {
  const sig = await key.sign(opBytes(op, payloadHash, domain));
  return `${payloadHash}.${b64url(sig)}`;
}

/** Whether `proof` is the op's origin's signature over this op (for a content-less op: over its header). */
export async function verifyOp(op: LogOp, proof: unknown, domain = 'kb-op'): Promise<boolean> {
  return verifyOpDigest(op, op.payload === null ? null : sha256Hex(canonicalJson(op.payload)), proof, domain);
}

/** `verifyOp` with the payload's digest already computed; null for a content-less op. */
export async function verifyOpDigest(op: OpHeader, payloadHash: string | null, proof: unknown, domain = 'kb-op'): Promise<boolean> {
  if (typeof proof !== 'string') return false;
  const m = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{1,200})$/.exec(proof);
  const key = originKey(op.origin);
  if (!m || !key) return false;
  if (payloadHash !== null && payloadHash !== m[1]) return false;
  return verifyBytes(key, opBytes(op, m[1], domain), Buffer.from(m[2], 'base64url'));
}

function entryBytes(origin: string, entry: CacheEntry): Uint8Array {
  const { key, checksum, createdAt, expiresAt } = entry;
  return encoder.encode(`flowrouter/cache-entry/1\n${canonicalJson({ origin, key, checksum, createdAt, expiresAt })}`);
}

/** Signs a cache entry's identity and checksum; the body is bound through the checksum the store verifies on import. */
export async function signCacheEntry(key: PrivateKey, origin: string, entry: CacheEntry): Promise<string> {
  return b64url(await key.sign(entryBytes(origin, entry)));
}

export async function verifyCacheEntry(origin: string, entry: CacheEntry, sig: unknown): Promise<boolean> {
  const key = originKey(origin);
  if (!key || typeof sig !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(sig)) return false;
  return verifyBytes(key, entryBytes(origin, entry), Buffer.from(sig, 'base64url'));
}
