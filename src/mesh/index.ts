// The mesh's only public door: a libp2p node that shares capacity with its peers and forwards chat requests to them.
export { createMeshNode } from './node.ts';
export type { MeshNode } from './node.ts';
export { generateMeshSecret, writeMeshSecret, readMeshSecret, loadOrCreateIdentity, IDENTITY_FILE } from './identity.ts';
export { MeshConfigError } from './errors.ts';
export {
  capacityKey,
  modelCid,
  chainCid,
  signCapacityRecord,
  encodeCapacityRecord,
  verifyCapacityRecord,
  validateCapacityEntry,
  selectCapacityEntry,
} from './capacity-record.ts';
export type { CapacityRecord } from './capacity-record.ts';
export { FORWARD_PROTOCOL, CAPACITY_PROTOCOL, MAX_FRAME_BYTES } from './frames.ts';
export type { ForwardRequestFrame, ForwardResponseFrame } from './frames.ts';
export { signForwardIdentity, verifyForwardIdentity, type ForwardIdentity, type WireIdentity, type IdentityRefusal } from './forward-identity.ts';
export { KAD_PROTOCOL } from './host.ts';
export { meshRoutes } from './routes.ts';
export * from './replication/index.ts';
export type {
  CapacityInfo,
  MeshOptions,
  MeshTiming,
  MeshDeps,
  ForwardContext,
  ForwardOptions,
  PeerRow,
  PeerHealth,
  MeshStatus,
} from './types.ts';
