// Tenancy on the request path: who is calling (client keys), what they may use, their limits, and whose upstream accounts pay.
import type { NodeConfig } from '../config/index.ts';
import type { Db } from '../core/database.ts';
import type { ChatChunk, ChatRequest } from '../core/openai.ts';
import { AuthError, PermissionError, RateLimitError } from '../core/errors.ts';
import type { ChatService } from '../gateway/index.ts';
import type { ClientInfo, RequestMeta } from '../router/index.ts';
import type { PriceTable } from '../usage/index.ts';
import { accountOverrides, presentedKey, takeUpstreamKeys } from './credentials.ts';
import { DEFAULT_OUTPUT_RESERVE_TOKENS, answerTextOf, outputAllowance, promptTokens, usageOf } from './estimate.ts';
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
  authenticate = (headers: RequestMeta['headers']): ClientInfo | undefined => {
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

  /** The key behind a client (undefined for anonymous callers and peers): what its grants are read from. */
  policyOf = (client: ClientInfo | undefined): KeyRecord | undefined => {
    if (!client) return undefined;
    return this.policies.get(client) ?? this.keys.get(client.id);
  };

  /** Permissions, the request rate and account overrides: what every /v1 call goes through. Returns the meta to pass on. */
  private admit(model: string, meta: RequestMeta): { meta: RequestMeta; key?: KeyRecord; taken: Taken[] } {
    const { headers, keys: upstreamKeys } = takeUpstreamKeys(meta.headers);
    const key = this.policyOf(meta.client);
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
    }
    const accounts = accountOverrides(this.deps.config(), meta.client?.tenant ?? key?.tenant, upstreamKeys);
    // The router enforces allowed chains where the chain is actually chosen (route rules included).
    const allowed = key?.chains ? { allowedChains: { names: key.chains, holder: key.name } } : {};
    return { meta: { ...meta, headers, ...(accounts ? { accounts } : {}), ...allowed }, key, taken };
  }

  /** Token and budget reservations for one chat request; refusals release what was already taken. */
  private reserve(req: ChatRequest, key: KeyRecord, taken: Taken[]): { prompt: number; tokens?: Taken; budget?: Taken } {
    const prompt = promptTokens(req);
    const allowance = outputAllowance(req);
    const now = this.now();
    const refuse = (err: RateLimitError): never => {
      for (const t of taken) t.settle(0);
      throw err;
    };
    let tokens: Taken | undefined;
    if (key.tpm !== undefined) {
      const need = prompt + (allowance ?? 0);
      const r = this.tpm.take(key.id, need, key.tpm, now);
      if (!r.ok) {
        refuse(new RateLimitError(r.tooLarge
          ? `This request needs about ${need} tokens, more than the ${key.tpm} tokens per minute allowed for key "${key.name}"`
          : `Token rate limit reached for key "${key.name}": ${r.used} of ${key.tpm} tokens per minute used, this request needs about ${need}. Retry in ${r.retryAfterS}s.`,
        'tokens_per_minute_exceeded', r.retryAfterS));
      }
      tokens = r.ok ? r.taken : undefined;
      if (tokens) taken.push(tokens);
    }
    let budget: Taken | undefined;
    if (key.budgetUsd !== undefined) {
      const period = key.budgetPeriod ?? 'month';
      const estimate = this.deps.prices.costOf(req.model, { prompt_tokens: prompt, completion_tokens: allowance ?? DEFAULT_OUTPUT_RESERVE_TOKENS });
      const r = this.budgets.reserve(key.id, key.budgetUsd, period, estimate, now);
      if (!r.ok) {
        const label = period === 'day' ? 'daily' : 'monthly';
        refuse(new RateLimitError(r.inFlight
          ? `The ${label} budget of key "${key.name}" (${usd(key.budgetUsd)}) is fully reserved by requests in flight (${usd(r.spent)} spent). Retry in a moment.`
          : `The ${label} budget of key "${key.name}" is exhausted: ${usd(r.spent)} of ${usd(key.budgetUsd)} spent, this request may cost up to ${usd(estimate)}. It resets at ${new Date(periodOf(period, now).endsAt).toISOString()}.`,
        'budget_exceeded', r.retryAfterS));
      }
      budget = r.ok ? r.taken : undefined;
    }
    return { prompt, tokens, budget };
  }

  /** The outermost chat layer: admission, limits, then settlement from the real usage once the answer is complete. */
  chatLayer = (next: ChatService): ChatService => async (req, meta) => {
    const admitted = this.admit(req.model, meta);
    const key = admitted.key;
    const held = key ? this.reserve(req, key, admitted.taken) : undefined;
    const release = () => { held?.tokens?.settle(0); held?.budget?.settle(0); };
    let outcome;
    try {
      outcome = await next(req, admitted.meta);
    } catch (err) {
      release();
      throw err;
    }
    if (!held) return outcome;
    // A cached answer cost no upstream tokens.
    const fromCache = outcome.headers['x-flowrouter-cache'] === 'hit';
    const settle = (usage: Parameters<typeof usageOf>[0], text: string, model: string) => {
      if (fromCache) return release();
      const u = usageOf(usage, held.prompt, text);
      held.tokens?.settle(u.total_tokens);
      held.budget?.settle(this.deps.prices.costOf(model || req.model, u));
    };
    const result = outcome.result;
    if (result.kind === 'json') {
      settle(result.response.usage, answerTextOf(result.response), result.response.model);
      return outcome;
    }
    async function* observed(chunks: AsyncGenerator<ChatChunk>): AsyncGenerator<ChatChunk> {
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
        settle(usage, text, model);
      }
    }
    return { ...outcome, result: { ...result, chunks: observed(result.chunks) } };
  };

  /** Admission for the other /v1 calls (embeddings, legacy completions): permissions, RPM, TPM, budgets and account overrides. */
  guard<Req extends { model: string }, Res>(service: (req: Req, meta: RequestMeta) => Promise<Res>): (req: Req, meta: RequestMeta) => Promise<Res> {
    return async (req, meta) => {
      const admitted = this.admit(req.model, meta);
      const key = admitted.key;
      // TPM and budgets hold here too: reserve on the estimate, settle on the reported usage (or keep the estimate).
      const held = key ? this.reserve(req as unknown as ChatRequest, key, admitted.taken) : undefined;
      let res: Res;
      try {
        res = await service(req, admitted.meta);
      } catch (err) {
        held?.tokens?.settle(0);
        held?.budget?.settle(0);
        throw err;
      }
      if (held) {
        const body = (res as { body?: { usage?: { prompt_tokens?: number; completion_tokens?: number } } }).body;
        const reported = body?.usage;
        const prompt = reported?.prompt_tokens ?? held.prompt;
        const completion = reported?.completion_tokens ?? (reported ? 0 : outputAllowance(req as unknown as ChatRequest) ?? 0);
        held.tokens?.settle(prompt + completion);
        held.budget?.settle(this.deps.prices.costOf(req.model, { prompt_tokens: prompt, completion_tokens: completion }));
      }
      return res;
    };
  }
}
