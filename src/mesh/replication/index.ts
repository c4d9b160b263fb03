// Replicated logs over the mesh (the knowledge base, the client keys; optionally response-cache entries): gossip,
// anti-entropy sync, status.
export { createReplicator, DEFAULT_REPLICATION } from './replicator.ts';
export type { Replicator, ReplicatorInit, ReplicationOptions } from './replicator.ts';
export type { ReplicationStatus, ReplicationCounts, PeerReplication } from './state.ts';
export { KB_TOPIC, KEYS_TOPIC, CACHE_TOPIC, KB_SYNC_PROTOCOL, MAX_GOSSIP_BYTES } from './wire.ts';
export { KB_CHANNEL, KEYS_CHANNEL, type LogChannel, type ReplicatedStore } from './channel.ts';
export { signOp, verifyOp } from './proof.ts';
