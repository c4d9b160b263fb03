// The client a forward is made for: the forwarding node states which client key it authenticated, signed with its mesh
// key, for one serving node, one request and a short time; the serving node checks every part before it believes it.
import { createHash } from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { canonicalJson } from '../cache/index.ts';
import { verifyByOrigin } from './replication/proof.ts';

/** What the forwarding node asserts, as signed (the JSON text itself travels, so nothing is re-encoded before checking). */
export interface IdentityClaims {
  v: 1;
  /** The client key's id, and its tenant as the forwarding node knows it (the serving node reads its own copy). */
  key: string;
  tenant?: string;
  /** The forwarding node and the node it forwards to. */
  from: string;
  to: string;
  /** SHA-256 of the request's canonical JSON: the assertion covers this request only. */
  body: string;
  iat: number;
  exp: number;
}

export interface WireIdentity {
  claims: string;
  sig: string;
}

/** The client behind a forward, once every check passed. */
export interface ForwardIdentity {
  keyId: string;
  tenant?: string;
}

const DOMAIN = 'flowrouter/forward-identity/1\n';
const encoder = new TextEncoder();
/** Clocks of members may differ this much. */
const SKEW_MS = 5 * 60_000;
const MAX_CLAIMS_BYTES = 2048;

function bytesOf(claims: string): Uint8Array {
  return encoder.encode(DOMAIN + claims);
}

export function requestDigest(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** Signs the assertion that `identity` made `request`, for `to` until `exp`. */
export async function signForwardIdentity(
  key: PrivateKey,
  identity: ForwardIdentity,
  where: { from: string; to: string },
  request: unknown,
  exp: number,
  now = Date.now(),
): Promise<WireIdentity> {
  const claims: IdentityClaims = { v: 1, key: identity.keyId, from: where.from, to: where.to, body: requestDigest(request), iat: now, exp };
  if (identity.tenant !== undefined) claims.tenant = identity.tenant;
  const text = JSON.stringify(claims);
  return { claims: text, sig: Buffer.from(await key.sign(bytesOf(text))).toString('base64url') };
}

/** Why an identity was refused, for the log and the error frame. */
export type IdentityRefusal = 'malformed' | 'not the sender' | 'not for this node' | 'expired' | 'not this request' | 'bad signature';

/**
 * The identity when the connection's peer signed it, for this node, for this request, and in time; else why not. The
 * sender is the connection's remote peer (Noise proved it), so the claims name it or are refused.
 */
export async function verifyForwardIdentity(
  wire: unknown,
  expect: { from: string; to: string; request: unknown; now?: number },
): Promise<ForwardIdentity | IdentityRefusal> {
  const w = wire as Partial<WireIdentity> | null;
  if (
    typeof w !== 'object'
    || w === null
    || typeof w.claims !== 'string'
    || typeof w.sig !== 'string'
    || w.claims.length > MAX_CLAIMS_BYTES
    || !/^[A-Za-z0-9_-]{1,200}$/.test(w.sig)
  )
    return 'malformed';
  let c: IdentityClaims;
  try {
    c = JSON.parse(w.claims) as IdentityClaims;
  } catch {
    return 'malformed';
  }
  if (
    typeof c !== 'object'
    || c === null
    || c.v !== 1
    || typeof c.key !== 'string'
    || !/^[0-9a-f]{16}$/.test(c.key)
    || (c.tenant !== undefined && (typeof c.tenant !== 'string' || c.tenant.length > 256))
    || typeof c.from !== 'string'
    || typeof c.to !== 'string'
    || typeof c.body !== 'string'
    || !Number.isFinite(c.iat)
    || !Number.isFinite(c.exp)
  )
    return 'malformed';
  if (c.from !== expect.from) return 'not the sender';
  if (c.to !== expect.to) return 'not for this node';
  const now = expect.now ?? Date.now();
  if (c.exp < now - SKEW_MS || c.iat > now + SKEW_MS) return 'expired';
  if (c.body !== requestDigest(expect.request)) return 'not this request';
  if (!(await verifyByOrigin(c.from, bytesOf(w.claims), Buffer.from(w.sig, 'base64url')))) return 'bad signature';
  return c.tenant === undefined ? { keyId: c.key } : { keyId: c.key, tenant: c.tenant };
}
