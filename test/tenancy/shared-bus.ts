// A stand-in for gossipsub between members in one process: the limits gossip runs unchanged on top of it, and a test
// picks each message's delay, drops some, or cuts members apart, to hold the shared limits to their bound.
import { TopicValidatorResult } from '@libp2p/gossipsub';
import { openDatabase, type Db } from '../../src/core/database.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startLimitsGossip, type LimitsGossip } from '../../src/mesh/limits-gossip.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import type { RequestContext } from '../../src/pipeline/index.ts';
import { createContext } from '../../src/pipeline/index.ts';
import { Allowances, Budgets, TENANCY_MIGRATIONS, type Holder } from '../../src/tenancy/index.ts';
import { migrate } from '../../src/core/database.ts';
import { SharedAdmission } from '../../src/tenancy/shared/admission.ts';
import { SharedCounters, type SharedLimitsOptions } from '../../src/tenancy/shared/counters.ts';
import { spentKeysIn, sqliteSharedStore } from '../../src/tenancy/shared/store.ts';
import { LIMITS_TOPIC, parseLimitsMessage } from '../../src/tenancy/shared/wire.ts';
import { PriceTable } from '../../src/usage/index.ts';

type Listener = (evt: CustomEvent) => void;

export interface BusOptions {
  /** Milliseconds a message takes to one receiver. */
  delay: () => number;
  /** Share of messages lost, 0..1. */
  loss?: number;
}

export class Bus {
  readonly opts: BusOptions;
  private readonly members = new Map<string, FakePubsub>();
  private readonly cut = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(opts: BusOptions) {
    this.opts = opts;
  }

  join(id: string): FakePubsub {
    const p = new FakePubsub(id, this);
    this.members.set(id, p);
    return p;
  }

  /** No message passes between the two groups until `heal`. */
  partition(a: string[], b: string[]): void {
    for (const x of a)
      for (const y of b) {
        this.cut.add(`${x}|${y}`);
        this.cut.add(`${y}|${x}`);
      }
  }

  heal(): void {
    this.cut.clear();
  }

  deliver(from: string, topic: string, data: Uint8Array): void {
    for (const [id, to] of this.members) {
      if (id === from || this.cut.has(`${from}|${id}`) || Math.random() < (this.opts.loss ?? 0)) continue;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        // Cut while in flight: lost, as on a broken link.
        if (!this.cut.has(`${from}|${id}`)) to.receive(from, topic, data);
      }, this.opts.delay());
      this.timers.add(timer);
    }
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}

export class FakePubsub {
  readonly topicValidators = new Map<string, (peer: unknown, msg: unknown) => unknown>();
  private readonly listeners = new Set<Listener>();
  private readonly id: string;
  private readonly bus: Bus;

  constructor(id: string, bus: Bus) {
    this.id = id;
    this.bus = bus;
  }

  subscribe(): void {}
  unsubscribe(): void {}
  addEventListener(_type: string, l: Listener): void {
    this.listeners.add(l);
  }
  removeEventListener(_type: string, l: Listener): void {
    this.listeners.delete(l);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.bus.deliver(this.id, topic, data);
  }

  receive(from: string, topic: string, data: Uint8Array): void {
    const msg = { type: 'signed', from: { toString: () => from }, topic, data };
    if (this.topicValidators.get(topic)?.(from, msg) !== TopicValidatorResult.Accept) return;
    for (const l of this.listeners) l(new CustomEvent('gossipsub:message', { detail: { msg, propagationSource: msg.from, msgId: '' } }));
  }
}

export const FAST_SHARED: SharedLimitsOptions = { overshoot: 0, contactTimeoutMs: 400, memberHorizonMs: 60_000 };

export interface Member {
  id: string;
  counters: SharedCounters;
  allowances: Allowances;
  budgets: Budgets;
  gossip: LimitsGossip;
  db: Db;
  /** Runs the key's admission as the tenancy layer does; resolves with the request context, rejects with the refusal. */
  admit(holder: Holder, body?: Record<string, unknown>): Promise<RequestContext>;
  stop(): void;
}

export function member(bus: Bus, id: string, opts: Partial<SharedLimitsOptions> = {}, heartbeatMs = 100, db = openDatabase(':memory:')): Member {
  migrate(db, TENANCY_MIGRATIONS);
  const budgets = new Budgets(db);
  const counters = new SharedCounters(
    { ...FAST_SHARED, ...opts },
    { spentOf: (k, p) => budgets.spent(k, p), spentKeys: spentKeysIn(db), store: sqliteSharedStore(db) },
  );
  counters.setSelf(id);
  const allowances = new Allowances({ budgets, prices: new PriceTable(), shared: new SharedAdmission(counters) });
  const gossip = startLimitsGossip({
    mesh: { pubsub: bus.join(id), peerId: id } as unknown as Pick<MeshNode, 'pubsub' | 'peerId'>,
    topic: LIMITS_TOPIC,
    heartbeatMs,
    snapshotMs: heartbeatMs * 10,
    maxMessageBytes: 512 * 1024,
    log: silentLogger,
    exchange: {
      parse: parseLimitsMessage,
      receive: (o, m) => counters.receive(o, m),
      outgoing: (k) => counters.outgoing(k),
      hasDelta: () => counters.hasDelta(),
      urgent: () => counters.urgent(),
      onChange: (l) => counters.onChange(l),
      prune: () => counters.prune(),
      persist: () => counters.persist(),
    },
  });
  return {
    id,
    counters,
    allowances,
    budgets,
    gossip,
    db,
    async admit(holder, body = {}) {
      const ctx = createContext({ requestId: `${id}-${Math.random()}`, operation: 'chat', signal: AbortSignal.timeout(10_000), countPrompt: () => 10 });
      await allowances.apply(holder, { model: 'gpt-4o-mini', ...body }, ctx);
      return ctx;
    },
    stop() {
      gossip.stop();
    },
  };
}

/** Waits until every member is in contact with every other. */
export async function allInContact(members: Member[], ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!members.every((m) => m.counters.status().members.filter((s) => s.inContact).length === members.length - 1)) {
    if (Date.now() > deadline) throw new Error(`members not in contact: ${JSON.stringify(members.map((m) => m.counters.status()))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
