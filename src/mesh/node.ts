// A mesh node's lifecycle: starts the libp2p host, keeps the peer table fresh, publishes capacity and serves forwards.
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { silentLogger } from '../core/logger.ts';
import type { ChatRequest } from '../core/openai.ts';
import type { ChatResult } from '../providers/transport.ts';
import { bootstrapDialer } from './bootstrap-dialer.ts';
import type { BootstrapDialer } from './bootstrap-dialer.ts';
import { capacityHandler, exchangeCapacity } from './capacity-exchange.ts';
import type { CapacityExchangeInit } from './capacity-exchange.ts';
import type { CapacityRecord } from './capacity-record.ts';
import { foreignPeerReporter } from './dial-diagnosis.ts';
import { DhtDirectory } from './dht-directory.ts';
import { MeshConfigError } from './errors.ts';
import { forwardToPeer } from './forward-client.ts';
import { signForwardIdentity } from './forward-identity.ts';
import { forwardHandler } from './forward-server.ts';
import { CAPACITY_PROTOCOL, FORWARD_PROTOCOL } from './frames.ts';
import { createHost } from './host.ts';
import type { MeshHost } from './host.ts';
import { loadOrCreateIdentity, readMeshSecret } from './identity.ts';
import { PeerLiveness } from './liveness.ts';
import { OwnRecord } from './own-record.ts';
import { PeerTable } from './peer-table.ts';
import type { ForwardOptions, MeshDeps, MeshOptions, MeshStatus, MeshTiming, PeerRow } from './types.ts';
import { MeshNotStarted, MeshStopping, UpstreamError } from '../core/errors.ts';
import { shortId } from './errors.ts';

const DEFAULT_TIMING: MeshTiming = {
  heartbeatMs: 10_000,
  recordTtlMs: 45_000,
  republishMs: 10 * 60_000,
  dhtTimeoutMs: 10_000,
  keepaliveMs: 5_000,
  reachTimeoutMs: 1_500,
};
/** Per connection; streams still closing count too, so the forward limit sits well above any real concurrency. */
const FORWARD_STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 };
const CAPACITY_STREAM_LIMITS = { maxInboundStreams: 16, maxOutboundStreams: 16 };
/** Bound on dialling one discovered peer. */
const DIAL_TIMEOUT_MS = 5_000;
/** Longest the DHT is asked for providers of a model when the peer table knows none. */
const DHT_LOOKUP_MS = 1_500;

interface Running {
  host: MeshHost;
  /** Signs the client identities this node attaches to its forwards. */
  privateKey: PrivateKey;
  table: PeerTable;
  liveness: PeerLiveness;
  own: OwnRecord;
  directory: DhtDirectory;
  exchange: CapacityExchangeInit;
  lifetime: AbortController;
  timers: NodeJS.Timeout[];
  bootstrap: BootstrapDialer;
  privateNetwork: boolean;
  /** Whether the last DHT put reached anyone; a node that started alone retries when its first peer connects. */
  dhtPublished: boolean;
  publishing: Promise<void> | null;
}

export interface MeshNode {
  /** Resolves once the host listens; discovery, DHT publishing and capacity exchange continue in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** This node's peer id (after start). */
  readonly peerId: string;
  /** Gossipsub, for the replication layer (after start). */
  readonly pubsub: MeshHost['services']['pubsub'];
  /** The libp2p host itself (after start). */
  readonly libp2p: MeshHost;
  /** Forwards one request to one peer (a router attempt at the target `peer:<id>`). */
  forward(peerId: string, request: ChatRequest, opts: ForwardOptions): Promise<ChatResult>;
  /**
   * Members that serve the first of `names` (model or chain names) any member serves, best first: from the peer table,
   * or, when it knows none, from the DHT's providers of the first name (a bounded lookup).
   */
  peersFor(names: string | string[], signal: AbortSignal): Promise<string[]>;
  peers(): PeerRow[];
  status(): MeshStatus;
  /** Re-reads `deps.capacity()` now and, when it changed, tells peers and the DHT (a timer does this too). */
  refreshCapacity(): Promise<void>;
  /** A peer's capacity record as the DHT holds it (validated), or null. */
  capacityFromDht(peerId: string): Promise<CapacityRecord | null>;
}

export function createMeshNode(options: MeshOptions, deps: MeshDeps): MeshNode {
  const timing: MeshTiming = { ...DEFAULT_TIMING, ...options.timing };
  const logger = deps.logger ?? silentLogger;
  const log = logger.child({ component: 'mesh' });
  const reportForeignPeer = foreignPeerReporter(log);
  const allowlist = options.allowlist ? new Set(options.allowlist) : null;
  const counters = { in: 0, inFailed: 0, out: 0, outFailed: 0 };
  let running: Running | null = null;

  const need = (): Running => {
    if (!running) throw new MeshNotStarted();
    return running;
  };

  /** Work retried on its own (the next heartbeat, republish or discovery): a failure is only told. */
  const background = (what: string, task: Promise<unknown>, level: 'info' | 'debug' = 'info'): void => {
    task.catch((err: unknown) => log[level]({ what, error: (err as Error)?.message }, 'mesh:background-failed'));
  };

  const publishToDht = (r: Running): Promise<void> => {
    r.publishing ??= (async () => {
      const { record } = await r.own.refresh();
      r.dhtPublished = await r.directory.putRecord(record, r.lifetime.signal);
      await r.directory.provideAll(record.capacity.models, record.capacity.chains, r.lifetime.signal);
    })().finally(() => {
      r.publishing = null;
    });
    return r.publishing;
  };

  /** The peer's listen addresses as identify reported them (an inbound connection only shows an ephemeral port). */
  const learnAddresses = async (r: Running, peer: PeerId): Promise<void> => {
    try {
      const known = await r.host.peerStore.get(peer);
      r.table.setAddresses(
        peer.toString(),
        known.addresses.map((a) => a.multiaddr.toString()),
      );
    } catch {
      /* not in the peer store (yet): keep the connection address */
    }
  };

  const heartbeat = async (r: Running): Promise<void> => {
    const { changed } = await r.own.refresh();
    if (changed) background('dht-publish', publishToDht(r));
    // libp2p's connection monitor already pings every connection (and a second ping stream would exceed the ping
    // protocol's one-stream limit), so its RTT is reused and the capacity exchange itself is the liveness probe.
    await Promise.all(
      r.host.getPeers().map(async (peer: PeerId) => {
        const id = peer.toString();
        const started = performance.now();
        const answered = await exchangeCapacity(r.exchange, peer, r.lifetime.signal);
        await learnAddresses(r, peer);
        if (!answered && !r.lifetime.signal.aborted) {
          // Every heartbeat while the peer is silent; its health in the peer table is the state worth watching.
          log.debug({ peer: id }, 'mesh:probe-failed');
          r.liveness.miss(id);
        }
        const rtt = r.host.getConnections(peer).find((c) => c.rtt !== undefined)?.rtt;
        r.table.recordProbe(id, answered ? (rtt ?? performance.now() - started) : null);
      }),
    );
  };

  const everyTick = (r: Running, ms: number, what: string, task: () => Promise<void>): void => {
    let busy = false;
    r.timers.push(
      setInterval(() => {
        if (busy) return;
        busy = true;
        background(
          what,
          task().finally(() => {
            busy = false;
          }),
        );
      }, ms),
    );
  };

  return {
    async start() {
      if (running) return;
      const privateKey = await loadOrCreateIdentity(options.dataDir);
      const psk = options.secretFile ? await readMeshSecret(options.secretFile) : null;
      const host = await createHost({
        privateKey,
        listen: options.listen,
        bootstrap: options.bootstrap,
        mdns: options.mdns,
        psk,
        allowlist,
        onForeignPeer: reportForeignPeer,
      });
      const table = new PeerTable();
      const connected = (peer: string): boolean => host.getConnections(peerIdFromString(peer)).some((c) => c.status === 'open');
      const liveness = new PeerLiveness({
        ping: (peer, signal) => host.services.ping.ping(peerIdFromString(peer), { signal }),
        connected,
        checkMs: timing.reachTimeoutMs,
      });
      const own = new OwnRecord({
        key: privateKey,
        peerId: host.peerId.toString(),
        nodeName: options.nodeName ?? null,
        ttlMs: timing.recordTtlMs,
        capacity: deps.capacity,
      });
      const exchange: CapacityExchangeInit = { host, table, allowlist, ownRecord: () => own.record(), onContact: (peer) => liveness.contact(peer) };
      const r: Running = {
        host,
        privateKey,
        table,
        liveness,
        own,
        directory: new DhtDirectory(host.services.dht, timing.dhtTimeoutMs),
        exchange,
        lifetime: new AbortController(),
        timers: [],
        bootstrap: bootstrapDialer(host, options.bootstrap, logger.child({ component: 'bootstrap' })),
        privateNetwork: psk !== null,
        dhtPublished: false,
        publishing: null,
      };

      // A peer sending a forward is evidently reachable.
      const serveForward: MeshDeps['serveForward'] = (req, fctx) => {
        liveness.contact(fctx.peerId);
        return deps.serveForward(req, fctx);
      };
      await host.handle(
        FORWARD_PROTOCOL,
        forwardHandler({
          serveForward,
          accepting: deps.acceptsForwards,
          allowlist,
          self: host.peerId.toString(),
          keepaliveMs: timing.keepaliveMs,
          counters,
          log: logger.child({ component: 'forward' }),
        }),
        FORWARD_STREAM_LIMITS,
      );
      await host.handle(CAPACITY_PROTOCOL, capacityHandler(exchange), CAPACITY_STREAM_LIMITS);
      host.addEventListener('peer:discovery', (evt) => {
        const peer = evt.detail.id;
        // Bootstrap peers are dialled (and their failures explained) by the bootstrap dialer.
        if (peer.equals(host.peerId) || host.getConnections(peer).length > 0 || r.bootstrap.has(peer)) return;
        // mDNS rediscovers a peer it cannot reach every few seconds: joining and leaving are what info tells.
        log.debug({ peer: peer.toString() }, 'mesh:discovered');
        background('dial', host.dial(peer, { signal: AbortSignal.any([r.lifetime.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) }), 'debug');
      });
      host.addEventListener('peer:connect', (evt) => {
        const peer = evt.detail;
        table.setConnection(
          peer.toString(),
          true,
          host.getConnections(peer).map((c) => c.remoteAddr.toString()),
        );
        liveness.contact(peer);
        log.info({ peer: peer.toString() }, 'mesh:connected');
        background(
          'capacity-exchange',
          exchangeCapacity(exchange, peer, r.lifetime.signal).then(() => learnAddresses(r, peer)),
        );
        if (!r.dhtPublished) background('dht-publish', publishToDht(r));
      });
      host.addEventListener('peer:disconnect', (evt) => {
        table.setConnection(evt.detail.toString(), false);
        log.info({ peer: evt.detail.toString() }, 'mesh:disconnected');
      });

      try {
        await host.start();
      } catch (err) {
        try {
          await host.stop();
        } catch {
          /* already failing: report the start error */
        }
        throw new MeshConfigError(`mesh host could not start: ${(err as Error).message}`);
      }
      running = r;
      r.bootstrap.start();
      await own.refresh();
      background('dht-publish', publishToDht(r));
      everyTick(r, timing.heartbeatMs, 'heartbeat', () => heartbeat(r));
      everyTick(r, timing.republishMs, 'dht-republish', () => publishToDht(r));
      log.info({ peerId: host.peerId.toString(), addrs: host.getMultiaddrs().map(String) }, 'mesh:started');
    },

    async stop() {
      const r = running;
      if (!r) return;
      running = null;
      for (const t of r.timers) clearInterval(t);
      r.bootstrap.stop();
      r.liveness.stop();
      r.lifetime.abort(new MeshStopping('mesh'));
      await r.host.stop();
    },

    get peerId() {
      return need().host.peerId.toString();
    },
    get pubsub() {
      return need().host.services.pubsub;
    },
    get libp2p() {
      return need().host;
    },

    async forward(peerId, request, opts) {
      const r = need();
      // A peer chosen a moment ago may have failed to answer another attempt since: checked (once, shared) first.
      if (!(await r.liveness.reachable(peerId, opts.signal))) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        counters.out++;
        counters.outFailed++;
        throw new UpstreamError('connect', `mesh peer ${shortId(peerId)}: no answer to a liveness check`);
      }
      const init = {
        host: r.host,
        counters,
        idleTimeoutMs: timing.keepaliveMs * 4,
        reachTimeoutMs: timing.reachTimeoutMs,
        onReach: (peer: string, reached: boolean) => (reached ? r.liveness.contact(peer) : r.liveness.miss(peer)),
      };
      const identity =
        opts.identity && (await signForwardIdentity(r.privateKey, opts.identity, { from: r.host.peerId.toString(), to: peerId }, request, opts.deadlineMs));
      return forwardToPeer(init, peerId, request, opts, identity);
    },

    async peersFor(names, signal) {
      const r = need();
      const list = Array.isArray(names) ? names : [names];
      const self = new Set([r.host.peerId.toString()]);
      const member = (p: string): boolean => !allowlist || allowlist.has(p);
      // A DHT query goes through connected peers; whether any answers is found out alongside the candidates' checks
      // (each peer is checked once, shared), so a node cut off learns both within one bound.
      const connectedPeers = r.host.getPeers().map(String);
      const anyoneAnswers = r.liveness.anyAnswers(connectedPeers, signal);
      for (const name of list) {
        const ranked = r.table.rankFor(name, self).filter(member);
        // Only peers that answer now: an isolated node learns it within one check, not one forward timeout per peer.
        const live = ranked.length > 0 ? await r.liveness.filter(ranked, signal) : [];
        if (live.length > 0) return live;
      }
      if (list.length === 0 || !(await anyoneAnswers)) return [];
      const found = await r.directory.findModelProviders(list[0], DHT_LOOKUP_MS, signal);
      return r.liveness.filter(r.table.rankFor(list[0], self, found).filter(member), signal);
    },

    peers() {
      return running ? running.table.rows() : [];
    },

    status() {
      const r = need();
      return {
        peerId: r.host.peerId.toString(),
        nodeName: options.nodeName ?? null,
        multiaddrs: r.host.getMultiaddrs().map(String),
        peers: r.table.counts(),
        forwards: { ...counters },
        privateNetwork: r.privateNetwork,
        allowlist: allowlist ? allowlist.size : null,
      };
    },

    async refreshCapacity() {
      const r = need();
      const { changed } = await r.own.refresh();
      if (!changed) return;
      await Promise.all(r.host.getPeers().map((p) => exchangeCapacity(r.exchange, p, r.lifetime.signal)));
      background('dht-publish', publishToDht(r));
    },

    capacityFromDht(peerId) {
      const r = need();
      return r.directory.getRecord(peerId, r.lifetime.signal);
    },
  };
}
