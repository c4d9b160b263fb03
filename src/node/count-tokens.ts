// `POST /v1/messages/count_tokens`: the chain's first target counts exactly when it is Anthropic (the client's body,
// passed through); any other target, or an Anthropic one that cannot be reached, gets Flow Router's estimate.
import type { TargetConfig } from '../config/index.ts';
import { UpstreamError } from '../core/errors.ts';
import type { ChatRequest } from '../core/openai.ts';
import { anthropicInbound } from '../inbound/index.ts';
import type { RequestContext } from '../pipeline/index.ts';
import { providers, type Transport } from '../providers/index.ts';
import { preferModel, upstreamModel, type Router } from '../router/index.ts';
import { accountFor, type Tenancy } from '../tenancy/index.ts';
import type { TokenCount } from '../gateway/client-api.ts';

export interface TokenCounterDeps {
  router: Pick<Router, 'resolve'>;
  tenancy: Tenancy;
  transport: Transport;
}

/** The target that would answer first: the chain's order (targets serving the model first when it was picked by model). */
function firstTarget(route: NonNullable<RequestContext['trace']['route']>, model: string): TargetConfig | undefined {
  const order = route.byModel ? preferModel(route.chain.targets, model) : route.chain.targets;
  return order[0];
}

export function tokenCounter(deps: TokenCounterDeps) {
  return async (req: ChatRequest, ctx: RequestContext): Promise<TokenCount> => {
    // The caller's key decides which models and chains it may ask about, as for a chat request.
    deps.tenancy.admit(req.model, ctx);
    const route = (ctx.trace.route ??= deps.router.resolve(req, ctx));
    const target = firstTarget(route, req.model);
    const estimate = () => ({ inputTokens: anthropicInbound.estimateChatInputTokens(req), exact: false });
    const native = target?.kind === 'provider' && target.account ? providers[target.account.type]?.native?.anthropic : undefined;
    if (!target || !native?.countTokens || !ctx.inbound) return estimate();
    const account = accountFor(target.account!, ctx.accounts);
    const model = upstreamModel(target, req.model);
    const spec = native.countTokens(ctx.inbound.body, { model, id: ctx.requestId, created: 0 }, account, ctx.inbound.headers);
    try {
      const { body } = await deps.transport.sendJson(providers[account.type]!, account, spec, ctx.signal);
      const n = (body as { input_tokens?: unknown })?.input_tokens;
      if (typeof n !== 'number') throw new UpstreamError('protocol', 'count_tokens answered without input_tokens');
      ctx.trace.target = target.id;
      return { inputTokens: n, exact: true };
    } catch (err) {
      // The client's own mistake is its answer; an unreachable or failing upstream leaves the estimate.
      if (err instanceof UpstreamError && err.kind === 'client') throw err;
      if (ctx.signal.aborted) throw err;
      return estimate();
    }
  };
}
