// Wires tenancy into the running mesh: the client keys replicate over their own log, the keys' counters are gossiped so
// every member admits against the mesh's totals, and members answer each other's usage questions. Started after the
// mesh, stopped before it.
import type { PrivateKey } from '@libp2p/interface';
import type { NodeConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import type { MeshNode, Replicator } from '../mesh/index.ts';
import { createReplicator, KEYS_CHANNEL } from '../mesh/index.ts';
import { startLimitsGossip, type LimitsGossip } from '../mesh/limits-gossip.ts';
import { askUsage, USAGE_PROTOCOL, usageHandler, type UsageRange } from '../mesh/usage-exchange.ts';
import type { Tenancy } from '../tenancy/index.ts';
import { parseDailyRows, type DailyRow, type MemberUsage, type MeshUsageSource } from '../usage/index.ts';
import { LIMITS_TOPIC, MAX_LIMITS_MESSAGE_BYTES, parseLimitsMessage } from '../tenancy/shared/wire.ts';

export interface MeshTenancyDeps {
  mesh: MeshNode;
  privateKey: PrivateKey;
  tenancy: Tenancy;
  config: NodeConfig;
  /** The node's logger: each part logs through its own child (`replication`, `limits`, `usage-exchange`). */
  logger: Logger;
  /** This node's usage rows per day, client and model (what a member asking for the mesh's usage receives). */
  usageRows: (range: UsageRange) => DailyRow[];
}

export interface MeshTenancy {
  keyReplicator?: Replicator;
  limits?: LimitsGossip;
  /** Every other known member's usage rows: asked of the connected ones, each within the timeout. */
  usage: MeshUsageSource;
  stop(): Promise<void>;
}

/** Rows accepted from one member (a day, client and model each): far more than a LAN mesh's year of billing lines. */
const MAX_MEMBER_ROWS = 200_000;

/** Full snapshots of the counters this many heartbeats apart (and whenever a peer is new or back). */
const SNAPSHOT_HEARTBEATS = 10;

export async function startMeshTenancy(deps: MeshTenancyDeps): Promise<MeshTenancy> {
  const m = deps.config.mesh;
  const host = deps.mesh.libp2p;
  await host.handle(USAGE_PROTOCOL, usageHandler(deps.usageRows, m.usageTimeoutMs, deps.logger.child({ component: 'usage-exchange' })), {
    maxInboundStreams: 4,
    maxOutboundStreams: 16,
  });
  const out: MeshTenancy = {
    usage: async (range) => {
      const connected = new Set(host.getPeers().map(String));
      const known = new Set([...connected, ...deps.mesh.peers().map((p) => p.peerId)]);
      const answers = await Promise.all(
        [...known].map(async (peer): Promise<{ member: MemberUsage; rows?: DailyRow[] }> => {
          if (!connected.has(peer)) return { member: { peer, status: 'unreachable' } };
          const signal = AbortSignal.timeout(m.usageTimeoutMs);
          try {
            const rows = parseDailyRows(await askUsage(host, peer, range, MAX_MEMBER_ROWS, signal), MAX_MEMBER_ROWS);
            if (!rows) return { member: { peer, status: 'error', error: 'malformed usage rows' } };
            return { member: { peer, status: 'ok', rows: rows.length }, rows };
          } catch (err) {
            return { member: { peer, status: signal.aborted ? 'timeout' : 'error', error: (err as Error).message.slice(0, 200) } };
          }
        }),
      );
      return { self: deps.mesh.peerId, members: answers.map((a) => a.member), rows: answers.flatMap((a) => (a.rows ? [a.rows] : [])) };
    },
    async stop() {
      out.limits?.stop();
      await out.keyReplicator?.stop();
      await host.unhandle(USAGE_PROTOCOL);
    },
  };
  if (m.replicateKeys) {
    out.keyReplicator = createReplicator({
      mesh: deps.mesh,
      privateKey: deps.privateKey,
      store: deps.tenancy.keys,
      channel: KEYS_CHANNEL,
      options: { syncIntervalMs: m.syncIntervalMs },
      log: deps.logger.child({ component: 'replication' }),
    });
    await out.keyReplicator.start();
  }
  const shared = deps.tenancy.shared;
  if (shared) {
    out.limits = startLimitsGossip({
      mesh: deps.mesh,
      topic: LIMITS_TOPIC,
      heartbeatMs: m.sharedLimits.heartbeatMs,
      snapshotMs: m.sharedLimits.heartbeatMs * SNAPSHOT_HEARTBEATS,
      maxMessageBytes: MAX_LIMITS_MESSAGE_BYTES,
      log: deps.logger.child({ component: 'limits' }),
      exchange: {
        parse: parseLimitsMessage,
        receive: (origin, message) => shared.receive(origin, message),
        outgoing: (kind) => shared.outgoing(kind),
        hasDelta: () => shared.hasDelta(),
        urgent: () => shared.urgent(),
        onChange: (listener) => shared.onChange(listener),
        prune: () => shared.prune(),
        persist: () => shared.persist(),
      },
    });
  }
  return out;
}
