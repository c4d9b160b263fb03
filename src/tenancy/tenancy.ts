// Tenancy on the request path: who is calling (client keys), what they may use, their limits, and whose upstream accounts pay.
import type { NodeConfig } from '../config/index.ts';
import type { Db } from '../core/database.ts';
import { AuthError, PermissionError, RateLimitError } from '../core/errors.ts';
import type { AnyLayer, AttemptGate, ClientInfo, RequestContext } from '../pipeline/index.ts';
import { usageOf, type PriceTable } from '../usage/index.ts';
import { accountOverrides, presentedKey } from './credentials.ts';
import { DEFAULT_OUTPUT_RESERVE_TOKENS, outputAllowance } from './estimate.ts';
import { KeyStore, type KeyRecord, type KeyRejection } from './keys.ts';
import { Budgets, MinuteWindow, periodOf, type Taken } from './limits.ts';

export interface TenancyDeps {
  db: Db;
  /** The node's current config (it may be reloaded). */
  config: () => NodeConfig;
  prices: PriceTable;
  /** The chain a request would be routed to; throws when none serves it. */
  now?: () => number;
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

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

export class Tenancy {
  readonly keys: KeyStore;
  readonly budgets: Budgets;
  private readonly deps: TenancyDeps;
  private readonly rpm = new MinuteWindow();
  private readonly tpm = new MinuteWindow();
  /** The key behind each authenticated client, so the chat path needs no second lookup. */
  private readonly policies = new WeakMap<ClientInfo, KeyRecord>();

  constructor(deps: TenancyDeps) {
    this.deps = deps;
    this.keys = new KeyStore(deps.db);
    this.budgets = new Budgets(deps.db);
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
    const client: ClientInfo = { id: v.record.id, name: v.record.name };
    if (v.record.tenant) client.tenant = v.record.tenant;
    this.policies.set(client, v.record);
    return client;
  };

  private policyOf(client: ClientInfo | undefined): KeyRecord | undefined {
    if (!client) return undefined;
    return this.policies.get(client) ?? this.keys.get(client.id);
  }

  /** Permissions, the request rate and account settings for any call; the key, when the caller has one. */
  private admit(model: string, ctx: RequestContext): { key?: KeyRecord; taken: Taken[] } {
    const key = this.policyOf(ctx.client);
    const taken: Taken[] = [];
    if (key) {
      if (key.models && !allows(key.models, model)) {
        throw new PermissionError(`The key "${key.name}" may not use the model "${model.slice(0, 100)}"; allowed: ${key.models.join(', ')}`, 'model_not_allowed');
      }
      if (key.rpm !== undefined) {
        const r = this.rpm.take(key.id, 1, key.rpm, this.now());
        if (!r.ok) throw new RateLimitError(`Rate limit reached for key "${key.name}": ${key.rpm} requests per minute. Retry in ${r.retryAfterS}s.`, 'rate_limit_exceeded', r.retryAfterS);
        taken.push(r.taken);
      }
      // The router enforces allowed chains where the chain is actually chosen (route rules included).
      if (key.chains) ctx.allowedChains = { names: key.chains, holder: key.name };
    }
    const accounts = accountOverrides(this.deps.config(), ctx.client?.tenant ?? key?.tenant, ctx.upstreamKeys);
    if (accounts) ctx.accounts = accounts;
    return { key, taken };
  }

  /** Tokens a request may use: its prompt and the answer it allows (embeddings answer with none). */
  private tokensNeeded(req: { max_tokens?: unknown; max_completion_tokens?: unknown }, ctx: RequestContext): { prompt: number; answer: number } {
    const allowance = outputAllowance(req);
    return { prompt: ctx.promptTokens(), answer: ctx.operation === 'embeddings' ? 0 : allowance ?? DEFAULT_OUTPUT_RESERVE_TOKENS };
  }

  /** Takes the request's tokens from the key's TPM window; a refusal gives back what admission took. */
  private takeTokens(req: { max_tokens?: unknown; max_completion_tokens?: unknown }, key: KeyRecord & { tpm: number }, ctx: RequestContext, taken: Taken[]): Taken {
    const need = ctx.promptTokens() + (outputAllowance(req) ?? 0);
    const r = this.tpm.take(key.id, need, key.tpm, this.now());
    if (r.ok) return r.taken;
    for (const t of taken) t.settle(0);
    throw new RateLimitError(r.tooLarge
      ? `This request needs about ${need} tokens, more than the ${key.tpm} tokens per minute allowed for key "${key.name}"`
      : `Token rate limit reached for key "${key.name}": ${r.used} of ${key.tpm} tokens per minute used, this request needs about ${need}. Retry in ${r.retryAfterS}s.`,
    'tokens_per_minute_exceeded', r.retryAfterS);
  }

  /**
   * The budget gate the router asks before each attempt: the request's worst case at that target's price is held,
   * so concurrent requests cannot overspend; a failed attempt gives its hold back.
   */
  private budgetGate(req: { max_tokens?: unknown; max_completion_tokens?: unknown }, key: KeyRecord & { budgetUsd: number }, ctx: RequestContext, kept: Taken[]): AttemptGate {
    const period = key.budgetPeriod ?? 'month';
    return (_target, model) => {
      const need = this.tokensNeeded(req, ctx);
      const estimate = this.deps.prices.costOf(model, { prompt_tokens: need.prompt, completion_tokens: need.answer });
      const now = this.now();
      const r = this.budgets.reserve(key.id, key.budgetUsd, period, estimate, now);
      if (!r.ok) {
        const label = period === 'day' ? 'daily' : 'monthly';
        throw new RateLimitError(r.inFlight
          ? `The ${label} budget of key "${key.name}" (${usd(key.budgetUsd)}) is fully reserved by requests in flight (${usd(r.spent)} spent). Retry in a moment.`
          : `The ${label} budget of key "${key.name}" is exhausted: ${usd(r.spent)} of ${usd(key.budgetUsd)} spent, this request may cost up to ${usd(estimate)} on ${model.slice(0, 100)}. It resets at ${new Date(periodOf(period, now).endsAt).toISOString()}.`,
        'budget_exceeded', r.retryAfterS);
      }
      return { release: () => r.taken.settle(0), keep: () => { kept.push(r.taken); } };
    };
  }

  /**
   * The outermost layer of every call: admission and limits on the way in (budgets per attempt, through the router's
   * gate), settlement from the real usage when the request ends.
   */
  readonly layer: AnyLayer = (next) => async (req, ctx) => {
    const { key, taken } = this.admit(req.model, ctx);
    if (!key) return next(req, ctx);
    const limits = req as { max_tokens?: unknown; max_completion_tokens?: unknown };
    const tokens = key.tpm !== undefined ? this.takeTokens(limits, key as KeyRecord & { tpm: number }, ctx, taken) : undefined;
    const kept: Taken[] = [];
    if (key.budgetUsd !== undefined) ctx.gate = this.budgetGate(limits, key as KeyRecord & { budgetUsd: number }, ctx, kept);
    ctx.tap.onEnd((end) => {
      // Nothing answered, or a cached answer: no upstream tokens were used.
      if ((end.response === undefined && end.usage === undefined) || ctx.trace.cache === 'hit') {
        tokens?.settle(0);
        for (const k of kept) k.settle(0);
        return;
      }
      const { usage } = usageOf(end, ctx.promptTokens);
      tokens?.settle(usage.total_tokens);
      const model = end.response?.model || ctx.trace.model || req.model;
      for (const k of kept) k.settle(this.deps.prices.costOf(model, usage));
    });
    return next(req, ctx);
  };
}
