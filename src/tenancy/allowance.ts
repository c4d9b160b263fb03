// What one holder (a client key, a mesh peer) may use: requests and tokens per minute and a USD budget, taken on the way
// in (the budget per attempt, at the tried target's price) and settled on what the request really used when it ends.
// A client key on a mesh node is counted mesh-wide (shared/): the same checks against the totals every member gossips.
import { RateLimitError } from '../core/errors.ts';
import type { AttemptGate, AttemptHold, RequestContext } from '../pipeline/index.ts';
import { usageOf, type PriceTable } from '../usage/index.ts';
import { DEFAULT_OUTPUT_RESERVE_TOKENS, outputAllowance } from './estimate.ts';
import type { BudgetPeriod } from './keys.ts';
import { type Budgets, MinuteWindow, periodOf, type Taken } from './limits.ts';
import type { SharedAdmission } from './shared/admission.ts';

/** One holder's limits; absent fields are unlimited. */
export interface Limits {
  rpm?: number;
  tpm?: number;
  budgetUsd?: number;
  budgetPeriod?: BudgetPeriod;
}

export interface Holder {
  /** Where its windows and spend are kept: a key id, or `peer:<id>`. */
  id: string;
  /** How messages name it: `key "ci"`, `mesh peer 12D3…`. */
  name: string;
  /** Appended to refusals, e.g. which setting imposes the limit. */
  why?: string;
  limits: Limits;
  /** `mesh`: counted with every member's counts (client keys, when the node shares limits); else this node's alone. */
  scope?: 'node' | 'mesh';
}

type LimitedRequest = { max_tokens?: unknown; max_completion_tokens?: unknown };

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

export class Allowances {
  private readonly rpm = new MinuteWindow();
  private readonly tpm = new MinuteWindow();
  private readonly budgets: Budgets;
  private readonly prices: PriceTable;
  private readonly now: () => number;
  private readonly shared?: SharedAdmission;

  constructor(deps: { budgets: Budgets; prices: PriceTable; now?: () => number; shared?: SharedAdmission }) {
    this.budgets = deps.budgets;
    this.prices = deps.prices;
    this.now = deps.now ?? Date.now;
    this.shared = deps.shared;
  }

  /**
   * Takes a request's rate and tokens now (throwing a coded 429), sets the budget gate the router asks before each
   * attempt, and settles both from the request's real usage when its tap hears the end. Counted on this node alone it
   * is done on return; counted mesh-wide it may wait for the other members (a promise then).
   */
  apply(holder: Holder, request: { model: string }, ctx: RequestContext): void | Promise<void> {
    const req = request as LimitedRequest;
    const shared = holder.scope === 'mesh' ? this.shared : undefined;
    if (!shared) return this.finish(holder, req, ctx, this.takeLocal(holder, req, ctx));
    return this.takeShared(shared, holder, req, ctx).then((tokens) => this.finish(holder, req, ctx, tokens, shared));
  }

  /** Sets the budget gate and settles what was taken when the request ends. */
  private finish(holder: Holder, req: LimitedRequest, ctx: RequestContext, tokens: Taken | undefined, shared?: SharedAdmission): void {
    const { limits } = holder;
    const kept: Taken[] = [];
    if (limits.budgetUsd !== undefined) {
      const period = limits.budgetPeriod ?? 'month';
      ctx.gate = shared
        ? this.sharedBudgetGate(shared, holder, limits.budgetUsd, period, req, ctx, kept)
        : this.budgetGate(holder, limits.budgetUsd, period, req, ctx, kept);
    }
    ctx.tap.onEnd((end) => {
      // Nothing answered, or a cached answer: no upstream tokens were used.
      if ((end.response === undefined && end.usage === undefined) || ctx.trace.cache === 'hit') {
        tokens?.settle(0);
        for (const k of kept) k.settle(0);
        return;
      }
      const { usage } = usageOf(end, ctx.promptTokens);
      tokens?.settle(usage.total_tokens);
      const model = end.response?.model || ctx.trace.model || '';
      for (const k of kept) k.settle(this.prices.costOf(model, usage));
    });
  }

  /**
   * A request counted elsewhere (the member it entered the mesh at admitted it, then forwarded it here): refused only when
   * the holder is already past its limits by more than their bound, as far as this node has heard; nothing is taken.
   */
  check(holder: Holder): void {
    const { limits } = holder;
    const shared = holder.scope === 'mesh' ? this.shared : undefined;
    if (shared) {
      const { heard } = shared.counters.rate(holder.id, limits);
      if (limits.rpm !== undefined && heard.requests > limits.rpm + shared.counters.slack(limits.rpm) + 1e-9) {
        this.refuse(holder, `Rate limit reached for ${holder.name}: ${limits.rpm} requests per minute across the mesh.`, 'rate_limit_exceeded', 60);
      }
      if (limits.tpm !== undefined && heard.tokens > limits.tpm + 1e-9) {
        this.refuse(holder, `Token rate limit reached for ${holder.name}: ${limits.tpm} tokens per minute across the mesh.`, 'tokens_per_minute_exceeded', 60);
      }
    }
    if (limits.budgetUsd !== undefined) {
      const period = limits.budgetPeriod ?? 'month';
      const spent = this.budgets.spent(holder.id, period, this.now()) + (shared?.counters.othersSpend(holder.id, period, limits.budgetUsd).seen ?? 0);
      if (spent >= limits.budgetUsd - 1e-9) {
        throw this.budgetRefusal(
          holder,
          limits.budgetUsd,
          period,
          { inFlight: false, spent, retryAfterS: Math.max(1, Math.ceil((periodOf(period, this.now()).endsAt - this.now()) / 1000)) },
          0,
          'any model',
          shared ? ' across the mesh' : '',
        );
      }
    }
  }

  private refuse(holder: Holder, message: string, code: string, retryAfterS: number): never {
    throw new RateLimitError(`${message}${holder.why ? ` (${holder.why})` : ''}`, code, retryAfterS);
  }

  private tokensNeeded(holder: Holder, req: LimitedRequest, ctx: RequestContext): number {
    return holder.limits.tpm === undefined ? 0 : ctx.promptTokens() + (outputAllowance(req) ?? 0);
  }

  /** This node's sliding windows alone. */
  private takeLocal(holder: Holder, req: LimitedRequest, ctx: RequestContext): Taken | undefined {
    const { limits } = holder;
    const taken: Taken[] = [];
    const refuse = (message: string, code: string, retryAfterS: number): never => {
      for (const t of taken) t.settle(0);
      return this.refuse(holder, message, code, retryAfterS);
    };
    if (limits.rpm !== undefined) {
      const r = this.rpm.take(holder.id, 1, limits.rpm, this.now());
      if (!r.ok)
        refuse(`Rate limit reached for ${holder.name}: ${limits.rpm} requests per minute. Retry in ${r.retryAfterS}s.`, 'rate_limit_exceeded', r.retryAfterS);
      else taken.push(r.taken);
    }
    if (limits.tpm === undefined) return undefined;
    const need = this.tokensNeeded(holder, req, ctx);
    const r = this.tpm.take(holder.id, need, limits.tpm, this.now());
    if (!r.ok) {
      refuse(
        r.tooLarge
          ? `This request needs about ${need} tokens, more than the ${limits.tpm} tokens per minute allowed for ${holder.name}`
          : `Token rate limit reached for ${holder.name}: ${r.used} of ${limits.tpm} tokens per minute used, this request needs about ${need}. Retry in ${r.retryAfterS}s.`,
        'tokens_per_minute_exceeded',
        r.retryAfterS,
      );
    }
    return r.ok ? r.taken : undefined;
  }

  /**
   * The mesh's merged windows: refused when the totals (with the shares of members out of contact) leave no room,
   * else counted here once the members in contact have acknowledged all but `unconfirmed` of this node's admissions.
   */
  private async takeShared(shared: SharedAdmission, holder: Holder, req: LimitedRequest, ctx: RequestContext): Promise<Taken | undefined> {
    const { limits } = holder;
    // A key with only a budget is counted too: a member it is forwarded to checks what was counted (see Tenancy).
    if (limits.rpm === undefined && limits.tpm === undefined && limits.budgetUsd === undefined) return undefined;
    const need = this.tokensNeeded(holder, req, ctx);
    if (limits.tpm !== undefined && need > limits.tpm) {
      this.refuse(
        holder,
        `This request needs about ${need} tokens, more than the ${limits.tpm} tokens per minute allowed for ${holder.name}`,
        'tokens_per_minute_exceeded',
        60,
      );
    }
    const deadline = shared.deadline();
    for (;;) {
      const view = shared.counters.rate(holder.id, limits);
      const where = `across the mesh${view.reserved ? ` (the shares of ${view.reserved} member${view.reserved > 1 ? 's' : ''} out of contact reserved)` : ''}`;
      if (limits.rpm !== undefined && view.requests + 1 > limits.rpm + 1e-9) {
        const retry = view.retryAfterS(1, need, limits);
        this.refuse(
          holder,
          `Rate limit reached for ${holder.name}: ${limits.rpm} requests per minute ${where}. Retry in ${retry}s.`,
          'rate_limit_exceeded',
          retry,
        );
      }
      if (limits.tpm !== undefined && view.tokens + need > limits.tpm + 1e-9) {
        const retry = view.retryAfterS(1, need, limits);
        this.refuse(
          holder,
          `Token rate limit reached for ${holder.name}: ${Math.round(view.tokens)} of ${limits.tpm} tokens per minute used ${where}, this request needs about ${need}. Retry in ${retry}s.`,
          'tokens_per_minute_exceeded',
          retry,
        );
      }
      if (shared.counters.mayAdd(holder.id, { requests: 1, tokens: need }, limits)) break;
      shared.counters.ask();
      await shared.settle(ctx.signal, deadline);
    }
    const t = shared.counters.admitted(holder.id, need);
    let settled = false;
    return {
      settle: (actual) => {
        if (!settled) {
          settled = true;
          t.settleTokens(limits.tpm === undefined ? 0 : actual);
        }
      },
    };
  }

  private estimateOf(req: LimitedRequest, ctx: RequestContext, model: string): number {
    const answer = ctx.operation === 'embeddings' ? 0 : (outputAllowance(req) ?? DEFAULT_OUTPUT_RESERVE_TOKENS);
    return this.prices.costOf(model, { prompt_tokens: ctx.promptTokens(), completion_tokens: answer });
  }

  private budgetRefusal(
    holder: Holder,
    limitUsd: number,
    period: BudgetPeriod,
    r: { inFlight: boolean; spent: number; retryAfterS: number },
    estimate: number,
    model: string,
    where = '',
  ): RateLimitError {
    const label = period === 'day' ? 'daily' : 'monthly';
    const ends = new Date(periodOf(period, this.now()).endsAt).toISOString();
    return new RateLimitError(
      `${
        r.inFlight
          ? `The ${label} budget of ${holder.name} (${usd(limitUsd)}) is fully reserved by requests in flight${where} (${usd(r.spent)} spent). Retry in a moment.`
          : `The ${label} budget of ${holder.name} is exhausted${where}: ${usd(r.spent)} of ${usd(limitUsd)} spent, this request may cost up to ${usd(estimate)} on ${model.slice(0, 100)}. It resets at ${ends}.`
      }${holder.why ? ` (${holder.why})` : ''}`,
      'budget_exceeded',
      r.retryAfterS,
    );
  }

  /**
   * Before each attempt, the request's worst case at that target's price is held, so concurrent requests cannot
   * overspend; a failed attempt gives its hold back, the answering one is settled at the end.
   */
  private budgetGate(holder: Holder, limitUsd: number, period: BudgetPeriod, req: LimitedRequest, ctx: RequestContext, kept: Taken[]): AttemptGate {
    return (_target, model) => {
      const estimate = this.estimateOf(req, ctx, model);
      const r = this.budgets.reserve(holder.id, limitUsd, period, estimate, this.now());
      if (!r.ok) throw this.budgetRefusal(holder, limitUsd, period, r, estimate, model);
      return {
        release: () => r.taken.settle(0),
        keep: () => {
          kept.push(r.taken);
        },
      };
    };
  }

  /**
   * The same hold against the mesh's totals: what the other members have committed (and the shares of those out of
   * contact) leaves this node the rest, and a hold waits, like an admission, for the members in contact to catch up.
   */
  private sharedBudgetGate(
    shared: SharedAdmission,
    holder: Holder,
    limitUsd: number,
    period: BudgetPeriod,
    req: LimitedRequest,
    ctx: RequestContext,
    kept: Taken[],
  ): AttemptGate {
    return async (_target, model): Promise<AttemptHold> => {
      const estimate = this.estimateOf(req, ctx, model);
      const deadline = shared.deadline();
      for (;;) {
        const others = shared.counters.othersSpend(holder.id, period, limitUsd);
        const r = this.budgets.reserve(holder.id, Math.max(0, limitUsd - others.committed), period, estimate, this.now());
        if (!r.ok) {
          const where = ` across the mesh${others.reserved ? ` (the shares of ${others.reserved} member${others.reserved > 1 ? 's' : ''} out of contact reserved)` : ''}`;
          throw this.budgetRefusal(holder, limitUsd, period, { ...r, spent: r.spent + others.seen }, estimate, model, where);
        }
        if (shared.counters.mayAdd(holder.id, { usd: estimate }, { budgetUsd: limitUsd })) {
          const held = shared.counters.holding(holder.id, period, estimate);
          return {
            release: () => {
              r.taken.settle(0);
              held.release();
            },
            keep: () => {
              kept.push({
                settle: (actual) => {
                  r.taken.settle(actual);
                  held.release();
                },
              });
            },
          };
        }
        r.taken.settle(0);
        shared.counters.ask();
        await shared.settle(ctx.signal, deadline);
      }
    };
  }
}
