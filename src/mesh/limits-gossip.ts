// Carries a node's shared counters on their own gossip topic: a delta as soon as something changed (coalesced per turn
// of the event loop), a heartbeat that keeps contact, and a full snapshot periodically and whenever a peer needs one.
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { GossipsubMessage } from '@libp2p/gossipsub';
import type { Logger } from '../core/logger.ts';
import type { MeshNode } from './node.ts';

/** What the node's counters offer the gossip (tenancy's SharedCounters, seen from the mesh). */
export interface CounterExchange<M> {
  /** A message from the wire when well-formed, else null (the sender is penalised). */
  parse(input: unknown): M | null;
  /** Merges a peer's message; `snapshot`: this node should send its whole state soon. */
  receive(origin: string, message: M): { snapshot: boolean };
  /** A delta (what changed), a heartbeat (the same, plus what still waits for acknowledgements) or a full snapshot. */
  outgoing(kind: 'delta' | 'heartbeat' | 'snapshot'): M[];
  hasDelta(): boolean;
  /** Whether what is pending must go out at once (a question or its answer) rather than with the next batch. */
  urgent(): boolean;
  onChange(listener: () => void): () => void;
  prune(): void;
  persist(): void;
}

export interface LimitsGossipInit<M> {
  mesh: Pick<MeshNode, 'pubsub' | 'peerId'>;
  topic: string;
  exchange: CounterExchange<M>;
  heartbeatMs: number;
  /** A full snapshot at least this often. */
  snapshotMs: number;
  maxMessageBytes: number;
  log: Logger;
}

export interface LimitsGossip {
  stop(): void;
  /** Messages published and received (for status and the benchmark). */
  counts(): { sent: number; received: number; rejected: number };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A snapshot asked for by a newly heard peer waits this long, so peers joining together get one. */
const SNAPSHOT_DEBOUNCE_MS = 20;
/** Counts that changed go out at most this often (a question, and its answer, go at once). */
const BATCH_MS = 10;

export function startLimitsGossip<M>(init: LimitsGossipInit<M>): LimitsGossip {
  const { pubsub } = init.mesh;
  const counts = { sent: 0, received: 0, rejected: 0 };
  const accepted = new WeakMap<Uint8Array, M>();
  let stopped = false;
  let deltaQueued: 'now' | 'batch' | false = false;
  let lastDelta = 0;
  let snapshotTimer: NodeJS.Timeout | undefined;
  let beats = 0;

  const publish = (messages: M[]): void => {
    for (const m of messages) {
      counts.sent++;
      // Up to one a heartbeat (a second by default) while publishing fails: the next heartbeat carries the counts again.
      pubsub
        .publish(init.topic, encoder.encode(JSON.stringify(m)))
        .catch((err: unknown) => init.log.debug({ error: (err as Error).message }, 'limits:publish-failed'));
    }
  };
  let batchTimer: NodeJS.Timeout | undefined;
  const sendDelta = (): void => {
    deltaQueued = false;
    clearTimeout(batchTimer);
    if (stopped || !init.exchange.hasDelta()) return;
    lastDelta = Date.now();
    publish(init.exchange.outgoing('delta'));
  };
  const queueDelta = (): void => {
    if (stopped) return;
    if (init.exchange.urgent()) {
      if (deltaQueued === 'now') return;
      deltaQueued = 'now';
      setImmediate(sendDelta);
    } else if (!deltaQueued) {
      deltaQueued = 'batch';
      batchTimer = setTimeout(sendDelta, Math.max(0, lastDelta + BATCH_MS - Date.now()));
    }
  };
  const sendSnapshot = (): void => {
    snapshotTimer = undefined;
    if (!stopped) publish(init.exchange.outgoing('snapshot'));
  };
  const queueSnapshot = (): void => {
    snapshotTimer ??= setTimeout(sendSnapshot, SNAPSHOT_DEBOUNCE_MS);
  };

  pubsub.topicValidators.set(init.topic, (_peer, msg) => {
    let parsed: M | null = null;
    if (msg.type === 'signed' && msg.data.byteLength <= init.maxMessageBytes) {
      try {
        parsed = init.exchange.parse(JSON.parse(decoder.decode(msg.data)));
      } catch {
        /* rejected below */
      }
    }
    if (parsed === null) {
      counts.rejected++;
      return TopicValidatorResult.Reject;
    }
    accepted.set(msg.data, parsed);
    return TopicValidatorResult.Accept;
  });
  const onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg } = evt.detail;
    const parsed = msg.topic === init.topic ? accepted.get(msg.data) : undefined;
    // Signed by its origin (gossipsub's StrictSign): the origin is who wrote it, whoever relayed it.
    if (parsed === undefined || msg.type !== 'signed') return;
    counts.received++;
    const { snapshot } = init.exchange.receive(msg.from.toString(), parsed);
    if (snapshot) queueSnapshot();
    if (init.exchange.hasDelta()) queueDelta();
  };
  pubsub.addEventListener('gossipsub:message', onMessage);
  pubsub.subscribe(init.topic);
  const offChange = init.exchange.onChange(queueDelta);

  const snapshotEvery = Math.max(1, Math.round(init.snapshotMs / init.heartbeatMs));
  const heartbeat = setInterval(() => {
    beats++;
    init.exchange.prune();
    if (beats % snapshotEvery === 0) {
      publish(init.exchange.outgoing('snapshot'));
    }
    // A heartbeat goes out even when nothing changed: it is how peers know this node still hears them.
    else publish(init.exchange.outgoing('heartbeat'));
    if (beats % 5 === 0) {
      try {
        init.exchange.persist();
      } catch (err) {
        init.log.warn({ error: (err as Error).message }, 'limits:persist-failed');
      }
    }
  }, init.heartbeatMs);
  queueSnapshot();

  return {
    stop() {
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(snapshotTimer);
      clearTimeout(batchTimer);
      offChange();
      pubsub.removeEventListener('gossipsub:message', onMessage);
      pubsub.unsubscribe(init.topic);
      pubsub.topicValidators.delete(init.topic);
      try {
        init.exchange.persist();
      } catch {
        /* the database may be closing */
      }
    },
    counts: () => ({ ...counts }),
  };
}
