// The node's stable identity: its mesh key pair (kept in the data directory) and the peer id derived from it.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import { IDENTITY_FILE } from '../mesh/identity-file.ts';

/** The key file (mesh/identity.ts would load libp2p's crypto, which a start without the mesh never needs). */
export const KEY_FILE = IDENTITY_FILE;
/** The peer id derived from the key file, with the key file's hash so a replaced key is never paired with an old id. */
export const PEER_ID_FILE = 'mesh-identity.id.json';

export interface NodeIdentity {
  /** Used as the node id everywhere: knowledge-base operation origin, mesh peer id, usage rows of forwards. */
  peerId: string;
  /** The key itself, loaded with libp2p's crypto on first call (replication signs with it). */
  privateKey(): Promise<PrivateKey>;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The remembered peer id when it was derived from exactly the key file on disk. */
async function rememberedPeerId(dataDir: string): Promise<string | null> {
  const key = await readOrNull(join(dataDir, KEY_FILE));
  const saved = await readOrNull(join(dataDir, PEER_ID_FILE));
  if (!key || !saved) return null;
  try {
    const { keySha256, peerId } = JSON.parse(saved.toString('utf8')) as { keySha256?: unknown; peerId?: unknown };
    return keySha256 === sha256(key) && typeof peerId === 'string' ? peerId : null;
  } catch {
    return null;
  }
}

async function loadKey(dataDir: string): Promise<{ privateKey: PrivateKey; peerId: string }> {
  const [{ loadOrCreateIdentity }, { peerIdFromPrivateKey }] = await Promise.all([import('../mesh/identity.ts'), import('@libp2p/peer-id')]);
  const privateKey = await loadOrCreateIdentity(dataDir);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** Reads the node's peer id (creating the key on first start); libp2p's crypto (~0.3 s, ~10 MB) loads only when the id is not remembered yet. */
export async function nodeIdentity(dataDir: string): Promise<NodeIdentity> {
  let loading: Promise<{ privateKey: PrivateKey; peerId: string }> | undefined;
  const load = () => (loading ??= loadKey(dataDir));
  const privateKey = async () => (await load()).privateKey;
  const remembered = await rememberedPeerId(dataDir);
  if (remembered) return { peerId: remembered, privateKey };
  const { peerId } = await load();
  const key = await readFile(join(dataDir, KEY_FILE));
  // Best effort: a read-only data directory only costs the next start the libp2p load again.
  await writeFile(join(dataDir, PEER_ID_FILE), JSON.stringify({ keySha256: sha256(key), peerId }), { mode: 0o600 }).catch(() => {});
  return { peerId, privateKey };
}
