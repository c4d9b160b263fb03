// Tenancy on the request path: who is calling (client keys), what they may use, their limits, and whose upstream accounts pay.
import type { NodeConfig } from '../config/index.ts';
import type { Db } from '../core/database.ts';
import { AuthError, PermissionError } from '../core/errors.ts';
import type { AnyLayer, ClientInfo, RequestContext } from '../pipeline/index.ts';
import type { PriceTable } from '../usage/index.ts';
import { Allowances } from './allowance.ts';
import { accountOverrides, presentedKey } from './credentials.ts';
import { KeyStore, type KeyRecord, type KeyRejection } from './keys.ts';
import { Budgets, MinuteWindow } from './limits.ts';
import { SharedAdmission } from './shared/admission.ts';
import { SharedCounters, type SharedLimitsOptions } from './shared/counters.ts';
import { spentKeysIn, sqliteSharedStore } from './shared/store.ts';

export interface TenancyDeps {
  db: Db;
  /** The node's current config (it may be reloaded). */
  config: () => NodeConfig;
  prices: PriceTable;
  now?: () => number;
  /** Count client keys' limits with the other members of the mesh (`mesh.shared_limits`); absent: this node's alone. */
  sharedLimits?: SharedLimitsOptions;
}

const REJECTIONS: Record<KeyRejection, [string, string]> = {
  malformed: ['Invalid API key', 'invalid_api_key'],
  unknown: ['Invalid API key', 'invalid_api_key'],
  revoked: ['This API key has been revoked', 'revoked_api_key'],
  expired: ['This API key has expired', 'expired_api_key'],
};

function allows(patterns: string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

export class Tenancy {
  readonly keys: KeyStore;
  readonly budgets: Budgets;
  /** Limits of client keys and, through the forwarded path, of mesh peers: one set of windows, one budget store. */
  readonly allowances: Allowances;
  /** Client keys' counters shared with the other members, on a mesh node with `mesh.shared_limits` (the mesh gossips them). */
  readonly shared?: SharedCounters;
  private readonly deps: TenancyDeps;
  /** Forwards each member made for each key in the last minute, checked against what that member counted. */
  private readonly forwards = new MinuteWindow();
  /** The key behind each authenticated client, so the chat path needs no second lookup. */
  private readonly policies = new WeakMap<ClientInfo, KeyRecord>();

  constructor(deps: TenancyDeps) {
    this.deps = deps;
    // A key issuer list only means something on a node that replicates keys.
    this.keys = new KeyStore(deps.db, {
      issuers: () => {
        const m = deps.config().mesh;
        return m.enabled && m.replicateKeys ? m.keyIssuers : null;
      },
    });
    this.budgets = new Budgets(deps.db);
    // Counted mesh-wide from the first request: until the mesh has run, remembered members' shares stay reserved.
    if (deps.sharedLimits) {
      const budgets = this.budgets;
      this.shared = new SharedCounters(deps.sharedLimits, {
        spentOf: (keyId, period) => budgets.spent(keyId, period),
        spentKeys: spentKeysIn(deps.db),
        store: sqliteSharedStore(deps.db),
        now: deps.now,
        holds: (keyId) => this.keys.get(keyId) !== undefined,
      });
    }
    this.allowances = new Allowances({
      budgets: this.budgets,
      prices: deps.prices,
      now: () => this.now(),
      shared: this.shared && new SharedAdmission(this.shared),
    });
  }

  /** Opens the key log (and names this node in the shared counters) under its mesh peer id, once it is loaded. */
  attach(peerId: string): void {
    this.keys.attach(peerId);
    this.shared?.setSelf(peerId);
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The gateway's authenticate hook: undefined for an anonymous caller, a client for a valid key, AuthError otherwise. */
  authenticate = (headers: Record<string, string | string[] | undefined>): ClientInfo | undefined => {
    const { mode } = this.deps.config().auth;
    if (mode === 'none') return undefined;
    const key = presentedKey(headers);
    if (!key) {
      if (mode === 'required') throw new AuthError('Missing API key: send "Authorization: Bearer fr-…" or "x-api-key: fr-…"', 'missing_api_key');
      return undefined;
    }
    // In optional mode callers may send any placeholder key (SDKs insist on one); only Flow Router keys are checked.
    if (mode === 'optional' && !key.startsWith('fr-')) return undefined;
    const v = this.keys.verify(key, this.now());
    if (!v.ok) throw new AuthError(...REJECTIONS[v.reason]);
    return this.clientOf(v.record);
  };

  /** The client a valid key stands for, its key remembered for the policy reads of the same request. */
  private clientOf(key: KeyRecord): ClientInfo {
    const client: ClientInfo = { id: key.id, name: key.name };
    if (key.tenant) client.tenant = key.tenant;
    this.policies.set(client, key);
    return client;
  }

  /** A key's spend this budget period across the mesh as this node has heard it (undefined without a budget or a mesh). */
  meshSpent(key: KeyRecord): number | undefined {
    if (key.budgetUsd === undefined || !this.shared) return undefined;
    const period = key.budgetPeriod ?? 'month';
    return this.budgets.spent(key.id, period, this.now()) + this.shared.othersSpend(key.id, period, key.budgetUsd).seen;
  }

  /** The key behind a client (undefined for anonymous callers and peers): what its grants are read from. */
  policyOf = (client: ClientInfo | undefined): KeyRecord | undefined => {
    if (!client) return undefined;
    return this.policies.get(client) ?? this.keys.get(client.id);
  };

  /** Permissions and account settings for any call (count_tokens too); the key, when the caller has one. */
  admit(model: string, ctx: RequestContext): KeyRecord | undefined {
    const key = this.policyOf(ctx.client);
    if (key?.models && !allows(key.models, model)) {
      throw new PermissionError(`The key "${key.name}" may not use the model "${model.slice(0, 100)}"; allowed: ${key.models.join(', ')}`, 'model_not_allowed');
    }
    // The router enforces allowed chains where the chain is actually chosen (route rules included).
    if (key?.chains) ctx.allowedChains = { names: key.chains, holder: key.name };
    const accounts = accountOverrides(this.deps.config(), ctx.client?.tenant ?? key?.tenant, ctx.upstreamKeys);
    if (accounts) ctx.accounts = accounts;
    return key;
  }

  /**
   * The client key a member's forward is made for, when this node holds it: refused (AuthError) when it is revoked or
   * expired here; undefined for a key this node does not know, whose forward is then served as the member's own.
   */
  forwardedClient = (identity: { keyId: string }): ClientInfo | undefined => {
    const key = this.keys.get(identity.keyId);
    if (!key) return undefined;
    if (key.revokedAt !== undefined) throw new AuthError(...REJECTIONS.revoked);
    if (key.expiresAt !== undefined && key.expiresAt <= this.now()) throw new AuthError(...REJECTIONS.expired);
    return this.clientOf(key);
  };

  /**
   * First on a forward made for a client key: the key's permissions and its tenant's accounts here, then its limits.
   * The member it came through counted it when it admitted it; when that member's counts, as heard here, cover every
   * forward it made for the key this minute, the limits are only checked. Otherwise (it is out of contact, or forwards
   * in the key's name without counting) this node counts the request itself, so a member cannot spend a key's
   * allowance uncounted.
   */
  readonly forwardedLayer: AnyLayer = (next) => async (req, ctx) => {
    if (!ctx.client || ctx.client.id.startsWith('peer:') || !ctx.forwardedBy) return next(req, ctx);
    const key = this.admit(req.model, ctx);
    if (!key || (key.rpm === undefined && key.tpm === undefined && key.budgetUsd === undefined)) return next(req, ctx);
    const holder = holderOf(key);
    const tally = `${ctx.forwardedBy}\n${key.id}`;
    const counted = this.shared?.countedBy(ctx.forwardedBy, key.id) ?? null;
    // The member's count as heard may lag its forwards by what it admitted unacknowledged: its slice of the overshoot.
    if (counted !== null && this.forwards.used(tally, this.now()) + 1 <= counted + this.shared!.slack(key.rpm ?? 0)) {
      this.allowances.check(holder);
      this.forwards.take(tally, 1, Number.POSITIVE_INFINITY, this.now());
    } else {
      await this.allowances.apply(holder, req, ctx);
    }
    return next(req, ctx);
  };

  /** The outermost layer of every call: admission, then the key's limits (see Allowances). */
  readonly layer: AnyLayer = (next) => (req, ctx) => {
    const key = this.admit(req.model, ctx);
    // A plain function on the hot path: a promise only when the key's limits wait for the mesh.
    const applied = key && this.allowances.apply(holderOf(key), req, ctx);
    return applied ? applied.then(() => next(req, ctx)) : next(req, ctx);
  };
}

/** A key as the holder of its limits, counted mesh-wide. */
function holderOf(key: KeyRecord) {
  return { id: key.id, name: `key "${key.name}"`, limits: key, scope: 'mesh' as const };
}
