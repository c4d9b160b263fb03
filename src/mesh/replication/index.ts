// Knowledge-base (and optional response-cache) replication over the mesh: gossip, anti-entropy sync, status.
export { createReplicator, DEFAULT_REPLICATION } from './replicator.ts';
export type { Replicator, ReplicatorInit, ReplicationOptions } from './replicator.ts';
export type { ReplicationStatus, ReplicationCounts, PeerReplication } from './state.ts';
export { KB_TOPIC, CACHE_TOPIC, KB_SYNC_PROTOCOL, MAX_GOSSIP_BYTES } from './wire.ts';
export { signOp, verifyOp } from './proof.ts';
