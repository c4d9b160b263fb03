// Wires tenancy into the running mesh: the client keys replicate over their own log, and the keys' counters are gossiped
// so every member admits against the mesh's totals. Started after the mesh, stopped before it.
import type { PrivateKey } from '@libp2p/interface';
import type { NodeConfig } from '../config/index.ts';
import type { MeshLog, MeshNode, Replicator } from '../mesh/index.ts';
import { createReplicator, KEYS_CHANNEL } from '../mesh/index.ts';
import { startLimitsGossip, type LimitsGossip } from '../mesh/limits-gossip.ts';
import type { Tenancy } from '../tenancy/index.ts';
import { LIMITS_TOPIC, MAX_LIMITS_MESSAGE_BYTES, parseLimitsMessage } from '../tenancy/shared/wire.ts';

export interface MeshTenancyDeps {
  mesh: MeshNode;
  privateKey: PrivateKey;
  tenancy: Tenancy;
  config: NodeConfig;
  log: MeshLog;
}

export interface MeshTenancy {
  keyReplicator?: Replicator;
  limits?: LimitsGossip;
  stop(): Promise<void>;
}

/** Full snapshots of the counters this many heartbeats apart (and whenever a peer is new or back). */
const SNAPSHOT_HEARTBEATS = 10;

export async function startMeshTenancy(deps: MeshTenancyDeps): Promise<MeshTenancy> {
  const m = deps.config.mesh;
  const out: MeshTenancy = {
    async stop() {
      out.limits?.stop();
      await out.keyReplicator?.stop();
    },
  };
  if (m.replicateKeys) {
    out.keyReplicator = createReplicator({
      mesh: deps.mesh, privateKey: deps.privateKey, store: deps.tenancy.keys, channel: KEYS_CHANNEL,
      options: { syncIntervalMs: m.syncIntervalMs }, log: deps.log,
    });
    await out.keyReplicator.start();
  }
  const shared = deps.tenancy.shared;
  if (shared) {
    out.limits = startLimitsGossip({
      mesh: deps.mesh, topic: LIMITS_TOPIC, heartbeatMs: m.sharedLimits.heartbeatMs, snapshotMs: m.sharedLimits.heartbeatMs * SNAPSHOT_HEARTBEATS,
      maxMessageBytes: MAX_LIMITS_MESSAGE_BYTES, log: deps.log,
      exchange: {
        parse: parseLimitsMessage,
        receive: (origin, message) => shared.receive(origin, message),
        outgoing: (kind) => shared.outgoing(kind),
        hasDelta: () => shared.hasDelta(),
        onChange: (listener) => shared.onChange(listener),
        prune: () => shared.prune(),
        persist: () => shared.persist(),
      },
    });
  }
  return out;
}
