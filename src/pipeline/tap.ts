// The one stream tap of a request: every layer that cares how a request ended listens here, and hears it exactly once.
import type { CompletionsResponse, EmbeddingsResponse, ChatResponse, Usage } from '../core/openai.ts';
import { ChatAssembler, CompletionsAssembler, type Assembler } from './assemble.ts';
import type { Operation } from './context.ts';
import type { Outcome } from './types.ts';

export type AnyResponse = ChatResponse | CompletionsResponse | EmbeddingsResponse;

/** How a request ended, as every listener sees it. */
export interface RequestEnd {
  /** `complete`: the whole answer was produced; `error`: it failed (before or during a stream); `aborted`: the client left. */
  status: 'complete' | 'error' | 'aborted';
  error?: unknown;
  stream: boolean;
  /** The answer, or for a stream what it assembled to (partial when it ended early); absent when nothing came. */
  response?: AnyResponse;
  /** Usage as the upstream reported it, if it did. */
  usage?: Usage;
  /** Milliseconds from the request's start until the answer began (JSON in hand, or a stream's first chunk). */
  firstByteMs?: number;
  durationMs: number;
}

export type EndListener = (end: RequestEnd) => void;

function assemblerFor(op: Operation): Assembler<unknown, AnyResponse> | undefined {
  if (op === 'chat') return new ChatAssembler() as Assembler<unknown, AnyResponse>;
  if (op === 'completions') return new CompletionsAssembler() as Assembler<unknown, AnyResponse>;
  return undefined;
}

/** Usage in the chat shape; embeddings report no completion tokens. */
function usageOf(response: AnyResponse | undefined): Usage | undefined {
  const u = response?.usage as Partial<Usage> | null | undefined;
  if (!u || typeof u.prompt_tokens !== 'number') return undefined;
  const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  return { ...u, prompt_tokens: u.prompt_tokens, completion_tokens: completion, total_tokens: u.total_tokens ?? u.prompt_tokens + completion };
}

export class RequestTap {
  private readonly operation: Operation;
  private readonly started = performance.now();
  private readonly listeners: EndListener[] = [];
  private ended = false;

  constructor(operation: Operation) {
    this.operation = operation;
  }

  /** Registers a listener; layers register on their way in, so a failure further in still reaches them. */
  onEnd(listener: EndListener): void {
    this.listeners.push(listener);
  }

  private end(e: Omit<RequestEnd, 'durationMs' | 'usage'>): void {
    if (this.ended) return;
    this.ended = true;
    const end: RequestEnd = { ...e, usage: usageOf(e.response), durationMs: performance.now() - this.started };
    let failure: unknown;
    for (const listener of this.listeners) {
      try {
        listener(end);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** The request failed before any answer. */
  fail(error: unknown, aborted: boolean): void {
    this.end({ status: aborted ? 'aborted' : 'error', error, stream: false });
  }

  /** Hears the end of an answer: at once for JSON, at the stream's end, failure or abandonment for streams. */
  watch<O extends Operation>(outcome: Outcome<O>, signal: AbortSignal): Outcome<O> {
    const firstByteMs = performance.now() - this.started;
    if (outcome.kind === 'json') {
      this.end({ status: 'complete', stream: false, response: outcome.response as AnyResponse, firstByteMs });
      return outcome;
    }
    const assembler = assemblerFor(this.operation);
    const source = outcome.chunks as AsyncGenerator<unknown>;
    const finish = (status: RequestEnd['status'], error?: unknown) => this.end({ status, error, stream: true, response: assembler?.result(), firstByteMs });
    // A plain iterator rather than a generator: a consumer that gives up before reading still triggers `return`.
    const chunks = {
      async next() {
        let r: IteratorResult<unknown>;
        try {
          r = await source.next();
        } catch (err) {
          finish(signal.aborted ? 'aborted' : 'error', err);
          throw err;
        }
        if (r.done) finish('complete');
        else assembler?.push(r.value);
        return r;
      },
      async return(value?: unknown) {
        finish('aborted');
        return (await source.return(value)) ?? { done: true, value: undefined };
      },
      async throw(err?: unknown) {
        finish('error', err);
        return source.throw(err);
      },
      [Symbol.asyncIterator]() {
        return chunks;
      },
    };
    return { ...outcome, chunks: chunks as unknown as AsyncGenerator<never> } as Outcome<O>;
  }
}
