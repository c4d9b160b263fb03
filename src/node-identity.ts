// The node's stable identity: its mesh key pair (kept in the data directory) and the peer id derived from it.
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreateIdentity } from './mesh/identity.ts';

export interface NodeIdentity {
  privateKey: PrivateKey;
  /** Used as the node id everywhere: knowledge-base operation origin, mesh peer id, usage rows of forwards. */
  peerId: string;
}

export async function nodeIdentity(dataDir: string): Promise<NodeIdentity> {
  const privateKey = await loadOrCreateIdentity(dataDir);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}
