// What each mesh peer may spend through this node's accounts (`mesh.forward_limits`): requests and tokens per minute
// and a USD budget per peer, reserved before a forward is served and settled on what it really used.
import type { ChainConfig, ForwardLimits, NodeConfig } from '../config/index.ts';
import { RateLimitError } from '../core/errors.ts';
import type { ChatChunk, ChatRequest } from '../core/openai.ts';
import type { ChatResult } from '../providers/index.ts';
import { selectChain, upstreamModel } from '../router/index.ts';
import type { PriceTable } from '../usage/index.ts';
import { DEFAULT_OUTPUT_RESERVE_TOKENS, answerTextOf, outputAllowance, promptTokens, usageOf } from './estimate.ts';
import { Budgets, MinuteWindow, periodOf, type Taken } from './limits.ts';

export interface PeerLimitsDeps {
  config: () => NodeConfig;
  /** Shared with client keys: a peer's spend is kept under `peer:<id>`, so it survives a restart. */
  budgets: Budgets;
  prices: PriceTable;
  now?: () => number;
}

export interface PeerHold {
  settle(result: ChatResult): ChatResult;
  release(): void;
}

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
const UNLIMITED: PeerHold = { settle: (r) => r, release() {} };

/**
 * The models a forwarded request may be sent to: the targets of the chain it resolves to, and of every route rule's
 * chain when a rule could pick one (a reservation must not be priced low).
 */
function candidateModels(config: NodeConfig, req: ChatRequest): string[] {
  const chains = new Set<ChainConfig>();
  if (!config.chains.has(req.model)) for (const r of config.routes) chains.add(config.chains.get(r.chain)!);
  try {
    chains.add(selectChain(config, req).chain);
  } catch { /* no chain serves it: the router will say so */ }
  return [...chains].filter(Boolean).flatMap((c) => c.targets.map((t) => upstreamModel(t, req.model)));
}

/** The peer-side ForwardPolicy (src/mesh/types.ts) the node's wiring hands to the mesh. */
export class PeerLimits {
  private readonly deps: PeerLimitsDeps;
  private readonly rpm = new MinuteWindow();
  private readonly tpm = new MinuteWindow();

  constructor(deps: PeerLimitsDeps) {
    this.deps = deps;
  }

  accepting(): boolean {
    return this.deps.config().mesh.acceptForwards;
  }

  admit(peerId: string, req: ChatRequest): PeerHold {
    const config = this.deps.config();
    const limits = config.mesh.forwardLimits;
    if (!limits) return UNLIMITED;
    const id = `peer:${peerId}`;
    const now = this.deps.now?.() ?? Date.now();
    const taken: Taken[] = [];
    const label = limits.budgetPeriod === 'day' ? 'daily' : 'monthly';
    const refuse = (message: string, code: string, retryAfterS: number): never => {
      for (const t of taken) t.settle(0);
      throw new RateLimitError(`Mesh peer ${peerId}: ${message} (mesh.forward_limits on this node)`, code, retryAfterS);
    };
    if (limits.rpm !== undefined) {
      const r = this.rpm.take(id, 1, limits.rpm, now);
      if (!r.ok) refuse(`${limits.rpm} forwarded requests per minute reached. Retry in ${r.retryAfterS}s.`, 'rate_limit_exceeded', r.retryAfterS);
      else taken.push(r.taken);
    }
    const prompt = promptTokens(req);
    const allowance = outputAllowance(req);
    let tokens: Taken | undefined;
    if (limits.tpm !== undefined) {
      const need = prompt + (allowance ?? 0);
      const r = this.tpm.take(id, need, limits.tpm, now);
      if (!r.ok) refuse(`${r.used} of ${limits.tpm} tokens per minute used, this request needs about ${need}.`, 'tokens_per_minute_exceeded', r.retryAfterS);
      else taken.push(tokens = r.taken);
    }
    let budget: Taken | undefined;
    if (limits.budgetUsd !== undefined) {
      const usage = { prompt_tokens: prompt, completion_tokens: allowance ?? DEFAULT_OUTPUT_RESERVE_TOKENS };
      const estimate = Math.max(0, ...candidateModels(config, req).map((m) => this.deps.prices.costOf(m, usage)));
      const r = this.deps.budgets.reserve(id, limits.budgetUsd, limits.budgetPeriod, estimate, now);
      if (!r.ok) {
        refuse(r.inFlight
          ? `the ${label} budget (${usd(limits.budgetUsd)}) is fully reserved by forwards in flight. Retry in a moment.`
          : `the ${label} budget is exhausted: ${usd(r.spent)} of ${usd(limits.budgetUsd)} spent, this request may cost up to ${usd(estimate)}. It resets at ${new Date(periodOf(limits.budgetPeriod, now).endsAt).toISOString()}.`,
        'budget_exceeded', r.retryAfterS);
      } else budget = r.taken;
    }
    const charge = (reported: Parameters<typeof usageOf>[0], text: string, model: string) => {
      const u = usageOf(reported, prompt, text);
      tokens?.settle(u.total_tokens);
      budget?.settle(this.deps.prices.costOf(model || req.model, u));
    };
    return {
      release: () => { tokens?.settle(0); budget?.settle(0); },
      settle: (result) => {
        if (result.kind === 'json') {
          charge(result.response.usage, answerTextOf(result.response), result.response.model);
          return result;
        }
        return { ...result, chunks: observed(result.chunks, charge) };
      },
    };
  }
}

/** Passes a stream through and charges what it carried once it ends (completed, failed or abandoned). */
async function* observed(chunks: AsyncGenerator<ChatChunk>, charge: (usage: ChatChunk['usage'], text: string, model: string) => void): AsyncGenerator<ChatChunk> {
  let usage: ChatChunk['usage'];
  let text = '';
  let model = '';
  try {
    for await (const chunk of chunks) {
      if (chunk.usage) usage = chunk.usage;
      model ||= chunk.model;
      for (const c of chunk.choices) text += (c.delta.content ?? '') + (c.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join('');
      yield chunk;
    }
  } finally {
    charge(usage, text, model);
  }
}

/** What members may spend through this node, said once at start (a warning on a node that requires client keys). */
export function forwardSpendNotice(config: NodeConfig): { level: 'info' | 'warn'; message: string } | undefined {
  const m = config.mesh;
  if (!m.enabled) return undefined;
  if (!m.acceptForwards) return { level: 'info', message: 'mesh: this node serves no forwarded requests (mesh.accept_forwards: false); members cannot spend its upstream accounts' };
  if (!m.forwardLimits) {
    return {
      level: config.auth.mode === 'required' ? 'warn' : 'info',
      message: 'mesh: every member holding the mesh secret may spend this node\'s upstream accounts through forwarded requests WITHOUT LIMITS '
        + '(client keys do not apply to forwards). Set mesh.forward_limits (rpm, tpm, budget_usd, budget_period) or mesh.accept_forwards: false.',
    };
  }
  return { level: 'info', message: `mesh: each member may spend through this node's upstream accounts at most ${describeLimits(m.forwardLimits)} (mesh.forward_limits)` };
}

function describeLimits(l: ForwardLimits): string {
  const parts = [
    l.rpm !== undefined && `${l.rpm} requests/min`,
    l.tpm !== undefined && `${l.tpm} tokens/min`,
    l.budgetUsd !== undefined && `${usd(l.budgetUsd)} per ${l.budgetPeriod}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'anything (forward_limits sets no limit)';
}
