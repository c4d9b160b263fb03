// What one holder (a client key, a mesh peer) may use: requests and tokens per minute and a USD budget, taken on the way
// in (the budget per attempt, at the tried target's price) and settled on what the request really used when it ends.
import { RateLimitError } from '../core/errors.ts';
import type { AttemptGate, RequestContext } from '../pipeline/index.ts';
import { usageOf, type PriceTable } from '../usage/index.ts';
import { DEFAULT_OUTPUT_RESERVE_TOKENS, outputAllowance } from './estimate.ts';
import type { BudgetPeriod } from './keys.ts';
import { Budgets, MinuteWindow, periodOf, type Taken } from './limits.ts';

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
}

type LimitedRequest = { max_tokens?: unknown; max_completion_tokens?: unknown };

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

export class Allowances {
  private readonly rpm = new MinuteWindow();
  private readonly tpm = new MinuteWindow();
  private readonly budgets: Budgets;
  private readonly prices: PriceTable;
  private readonly now: () => number;

  constructor(deps: { budgets: Budgets; prices: PriceTable; now?: () => number }) {
    this.budgets = deps.budgets;
    this.prices = deps.prices;
    this.now = deps.now ?? Date.now;
  }

  /**
   * Takes a request's rate and tokens now (throwing a coded 429), sets the budget gate the router asks before each
   * attempt, and settles both from the request's real usage when its tap hears the end.
   */
  apply(holder: Holder, request: { model: string }, ctx: RequestContext): void {
    const { limits } = holder;
    const req = request as LimitedRequest;
    const refuse = (taken: Taken[], message: string, code: string, retryAfterS: number): never => {
      for (const t of taken) t.settle(0);
      throw new RateLimitError(`${message}${holder.why ? ` (${holder.why})` : ''}`, code, retryAfterS);
    };
    const taken: Taken[] = [];
    if (limits.rpm !== undefined) {
      const r = this.rpm.take(holder.id, 1, limits.rpm, this.now());
      if (!r.ok) refuse(taken, `Rate limit reached for ${holder.name}: ${limits.rpm} requests per minute. Retry in ${r.retryAfterS}s.`, 'rate_limit_exceeded', r.retryAfterS);
      else taken.push(r.taken);
    }
    let tokens: Taken | undefined;
    if (limits.tpm !== undefined) {
      const need = ctx.promptTokens() + (outputAllowance(req) ?? 0);
      const r = this.tpm.take(holder.id, need, limits.tpm, this.now());
      if (!r.ok) {
        refuse(taken, r.tooLarge
          ? `This request needs about ${need} tokens, more than the ${limits.tpm} tokens per minute allowed for ${holder.name}`
          : `Token rate limit reached for ${holder.name}: ${r.used} of ${limits.tpm} tokens per minute used, this request needs about ${need}. Retry in ${r.retryAfterS}s.`,
        'tokens_per_minute_exceeded', r.retryAfterS);
      } else tokens = r.taken;
    }
    const kept: Taken[] = [];
    if (limits.budgetUsd !== undefined) ctx.gate = this.budgetGate(holder, limits.budgetUsd, limits.budgetPeriod ?? 'month', req, ctx, kept);
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
   * Before each attempt, the request's worst case at that target's price is held, so concurrent requests cannot
   * overspend; a failed attempt gives its hold back, the answering one is settled at the end.
   */
  private budgetGate(holder: Holder, limitUsd: number, period: BudgetPeriod, req: LimitedRequest, ctx: RequestContext, kept: Taken[]): AttemptGate {
    return (_target, model) => {
      const answer = ctx.operation === 'embeddings' ? 0 : outputAllowance(req) ?? DEFAULT_OUTPUT_RESERVE_TOKENS;
      const estimate = this.prices.costOf(model, { prompt_tokens: ctx.promptTokens(), completion_tokens: answer });
      const now = this.now();
      const r = this.budgets.reserve(holder.id, limitUsd, period, estimate, now);
      if (!r.ok) {
        const label = period === 'day' ? 'daily' : 'monthly';
        throw new RateLimitError(`${r.inFlight
          ? `The ${label} budget of ${holder.name} (${usd(limitUsd)}) is fully reserved by requests in flight (${usd(r.spent)} spent). Retry in a moment.`
          : `The ${label} budget of ${holder.name} is exhausted: ${usd(r.spent)} of ${usd(limitUsd)} spent, this request may cost up to ${usd(estimate)} on ${model.slice(0, 100)}. It resets at ${new Date(periodOf(period, now).endsAt).toISOString()}.`}${holder.why ? ` (${holder.why})` : ''}`,
        'budget_exceeded', r.retryAfterS);
      }
      return { release: () => r.taken.settle(0), keep: () => { kept.push(r.taken); } };
    };
  }
}
