// Model comparison: a sample of a chain's answered traffic is replayed, off the client's path, to a candidate target and stored side by side.
import { contentText, type ChatRequest, type ChatResponse } from '../core/openai.ts';
import type { NodeConfig } from '../config/index.ts';
import { migrate, type Db } from '../core/database.ts';
import { createContext, type Outcome, type RequestContext } from '../pipeline/index.ts';
import { promptTokens, upstreamModel, type SendToTarget } from '../router/index.ts';
import type { UsageRow } from './ledger.ts';
import type { PriceTable } from './prices.ts';
import { agreementScore, parseJudgeScore } from './agreement.ts';

const MIGRATIONS = [
  {
    id: 'usage/002-compare',
    up: `CREATE TABLE compare_samples (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    chain TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    primary_target TEXT, primary_model TEXT, primary_answer TEXT NOT NULL,
    primary_prompt_tokens INTEGER, primary_completion_tokens INTEGER, primary_cost REAL, primary_latency_ms REAL,
    candidate_target TEXT NOT NULL, candidate_model TEXT, candidate_answer TEXT,
    candidate_prompt_tokens INTEGER, candidate_completion_tokens INTEGER, candidate_cost REAL, candidate_latency_ms REAL,
    candidate_error TEXT,
    agreement REAL, judge_score REAL
  )`,
  },
];

const SHADOW_TIMEOUT_MS = 120_000;
/**
 * Comparisons running at once. Each may wait SHADOW_TIMEOUT_MS on a slow candidate: without a bound, a hanging
 * candidate would hold every sampled request of the last two minutes. Samples that find them all busy are skipped.
 */
const MAX_IN_FLIGHT = 32;

function answerText(res: ChatResponse): string {
  const m = res.choices[0]?.message;
  if (!m) return '';
  return m.content ?? (m.tool_calls ?? []).map((t) => `${t.function.name}(${t.function.arguments})`).join('\n');
}

export interface ShadowDeps {
  db: Db;
  prices: PriceTable;
  config: () => NodeConfig;
  send: SendToTarget;
  /** Asks a chain (the judge) for a non-streaming answer. */
  chat: (req: ChatRequest, ctx: RequestContext) => Promise<Outcome<'chat'>>;
  random?: () => number;
}

export class ShadowSampler {
  private readonly deps: ShadowDeps;
  private readonly inflight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly insert;

  constructor(deps: ShadowDeps) {
    this.deps = deps;
    migrate(deps.db, MIGRATIONS);
    this.insert = deps.db.prepare(`INSERT INTO compare_samples (ts, chain, fingerprint, primary_target, primary_model, primary_answer,
      primary_prompt_tokens, primary_completion_tokens, primary_cost, primary_latency_ms, candidate_target, candidate_model, candidate_answer,
      candidate_prompt_tokens, candidate_completion_tokens, candidate_cost, candidate_latency_ms, candidate_error, agreement, judge_score)
      VALUES (@ts, @chain, @fingerprint, @primaryTarget, @primaryModel, @primaryAnswer, @primaryPromptTokens, @primaryCompletionTokens,
      @primaryCost, @primaryLatencyMs, @candidateTarget, @candidateModel, @candidateAnswer, @candidatePromptTokens, @candidateCompletionTokens,
      @candidateCost, @candidateLatencyMs, @candidateError, @agreement, @judgeScore)`);
  }

  /** Called for each answered request; samples it when its chain has a shadow. Never blocks or fails the caller. */
  observe(req: ChatRequest, ctx: RequestContext, row: UsageRow, answer: ChatResponse): void {
    if (!row.chain || ctx.forwardedBy || this.abort.signal.aborted || this.inflight.size >= MAX_IN_FLIGHT) return;
    const shadow = this.deps.config().chains.get(row.chain)?.shadow;
    if (!shadow || (this.deps.random ?? Math.random)() >= shadow.sample) return;
    const job = this.compare(req, ctx.requestId, row, answer, shadow)
      .catch(() => {})
      .finally(() => this.inflight.delete(job));
    this.inflight.add(job);
  }

  private async compare(
    req: ChatRequest,
    requestId: string,
    row: UsageRow,
    answer: ChatResponse,
    shadow: NonNullable<ReturnType<NodeConfig['chains']['get']>>['shadow'] & object,
  ): Promise<void> {
    const target = shadow.target;
    const model = upstreamModel(target, req.model);
    const { flowrouter: _fr, stream_options: _so, ...rest } = req;
    const started = performance.now();
    let candidate: ChatResponse | undefined;
    let candidateError: string | null = null;
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(SHADOW_TIMEOUT_MS)]);
      const result = await this.deps.send(target, 'chat', { ...rest, model, stream: false }, { signal, requestId: `${requestId}-shadow` });
      if (result.kind !== 'json') throw new Error('the candidate streamed a non-streaming request');
      candidate = result.response;
    } catch (err) {
      candidateError = err instanceof Error ? err.message : String(err);
    }
    const latency = performance.now() - started;
    const primaryText = answerText(answer);
    const candidateText = candidate ? answerText(candidate) : null;
    const judgeScore = candidateText !== null && shadow.judge ? await this.judge(shadow.judge, req, primaryText, candidateText, requestId) : null;
    const usage = candidate?.usage;
    this.insert.run({
      ts: row.ts,
      chain: row.chain,
      fingerprint: row.fingerprint,
      primaryTarget: row.target,
      primaryModel: row.model,
      primaryAnswer: primaryText,
      primaryPromptTokens: row.promptTokens,
      primaryCompletionTokens: row.completionTokens,
      primaryCost: row.cost,
      primaryLatencyMs: row.latencyMs,
      candidateTarget: target.id,
      candidateModel: candidate?.model ?? model,
      candidateAnswer: candidateText,
      candidatePromptTokens: usage?.prompt_tokens ?? null,
      candidateCompletionTokens: usage?.completion_tokens ?? null,
      candidateCost: usage ? this.deps.prices.costOf(candidate?.model ?? model, usage) : null,
      candidateLatencyMs: Math.round(latency * 1000) / 1000,
      candidateError,
      agreement: candidateText === null ? null : agreementScore(primaryText, candidateText),
      judgeScore,
    });
  }

  private async judge(chain: string, req: ChatRequest, a: string, b: string, requestId: string): Promise<number | null> {
    const request = req.messages.map((m) => `${m.role}: ${contentText(m.content)}`).join('\n');
    const judgeReq: ChatRequest = {
      model: chain,
      temperature: 0,
      stream: false,
      messages: [
        {
          role: 'system',
          content:
            'You compare two answers to the same request. Reply with one number from 0 to 10: how well answer B matches answer A in substance and correctness (10 = equivalent).',
        },
        { role: 'user', content: `Request:\n${request}\n\nAnswer A:\n${a}\n\nAnswer B:\n${b}` },
      ],
    };
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(SHADOW_TIMEOUT_MS)]);
      const ctx = createContext({ requestId: `${requestId}-judge`, operation: 'chat', signal, countPrompt: () => promptTokens(judgeReq) });
      const result = await this.deps.chat(judgeReq, ctx);
      return result.kind === 'json' ? parseJudgeScore(answerText(result.response)) : null;
    } catch {
      return null;
    }
  }

  /** Comparisons running now (at most MAX_IN_FLIGHT). */
  get running(): number {
    return this.inflight.size;
  }

  /** Resolves when every comparison started so far has been stored (tests and shutdown). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.settle();
  }
}
