// The one thin transport every provider shares, as a component: its connection pools open on first use and close on stop().
import type { ChatChunk, ChatRequest, CompletionsRequest, CompletionsResponse } from '../core/openai.ts';
import { UpstreamError } from '../core/errors.ts';
import { withRaw, type ClientApi, type RawSseEvent } from '../core/passthrough.ts';
import type { Outcome } from '../pipeline/index.ts';
import { AgentPool, BodyBudget, readCapped, scrub, send, type Sent } from './exchange.ts';
import { readSse } from './sse.ts';
import type { HttpRequestSpec, NativeApi, Provider, ProviderAccount, SseEvent, TranslationContext } from './types.ts';

/** Upstream JSON bodies larger than this are refused rather than buffered. */
const MAX_JSON_BODY = 32 * 1024 * 1024;
/** A stream longer than this is ended as faulty: the request's tap keeps its text until it ends. */
const MAX_STREAM_BYTES = 32 * 1024 * 1024;

/** A chat answer: JSON, or a stream whose first chunks are in (once it resolves, the upstream has answered). */
export type ChatResult = Outcome<'chat'>;

/** Turns upstream events into chunks; `end` gives what is owed when the upstream stops, `finished` says it ended properly. */
interface EventTranslator<C> {
  push(event: SseEvent): C[];
  end(): C[];
  readonly finished: boolean;
}

/**
 * Pulls until the upstream has produced at least one chunk, so a failure before the first byte can still fall back;
 * then yields the rest. Deadlines, the body and the event reader are released however the stream ends.
 */
async function streamOf<C>(sent: Sent, translator: EventTranslator<C>, account: ProviderAccount): Promise<AsyncGenerator<C>> {
  const { what, deadlines } = sent;
  const events = readSse(sent.body, MAX_STREAM_BYTES);
  const nextEvent = async () => {
    try {
      return await events.next();
    } catch (err) {
      throw deadlines.toError(err, what);
    }
  };
  const first: C[] = [];
  try {
    while (first.length === 0) {
      const next = await nextEvent();
      if (next.done) {
        first.push(...translator.end());
        if (first.length === 0) throw new UpstreamError('protocol', `${what}: stream ended without any event`);
        break;
      }
      first.push(...translator.push(next.value));
    }
  } catch (err) {
    deadlines.done();
    sent.body.destroy?.();
    throw scrub(err, account);
  }
  deadlines.firstByteSeen();
  return (async function* chunks(): AsyncGenerator<C> {
    try {
      yield* first;
      while (true) {
        const next = await nextEvent();
        if (next.done) break;
        try {
          yield* translator.push(next.value);
        } catch (err) {
          throw scrub(err, account);
        }
      }
      yield* translator.end();
      if (!translator.finished) throw new UpstreamError('protocol', `${what}: stream ended before the upstream finished it`);
    } finally {
      deadlines.done();
      await events.return(undefined).catch(() => {});
      sent.body.destroy?.();
    }
  })();
}

/** Legacy completions stream OpenAI's own chunks: each `data:` is one, `[DONE]` ends it. */
function completionsEvents(what: string): EventTranslator<CompletionsResponse> {
  let finished = false;
  return {
    get finished() {
      return finished;
    },
    push(event) {
      if (event.data === '[DONE]') {
        finished = true;
        return [];
      }
      try {
        return [JSON.parse(event.data) as CompletionsResponse];
      } catch {
        throw new UpstreamError('protocol', `${what}: malformed stream event`);
      }
    },
    end: () => [],
  };
}

/**
 * Keeps, on each chunk, the upstream events it was made from (events that made no chunk ride on the next one), so a
 * client of the same API can be sent the upstream's own stream.
 */
function keepingRaw(translator: EventTranslator<ChatChunk>, api: ClientApi): EventTranslator<ChatChunk> {
  let pending: RawSseEvent[] = [];
  let last: ChatChunk | undefined;
  const attach = (chunks: ChatChunk[]): ChatChunk[] => {
    for (const [i, c] of chunks.entries()) withRaw(c, { api, events: i === 0 ? pending : [] });
    if (chunks.length) {
      pending = [];
      last = chunks.at(-1);
    }
    return chunks;
  };
  return {
    get finished() {
      return translator.finished;
    },
    push(event) {
      pending.push(event.event === undefined ? { data: event.data } : { event: event.event, data: event.data });
      return attach(translator.push(event));
    },
    end() {
      const chunks = attach(translator.end());
      if (pending.length === 0 || !last) return chunks;
      // Trailing events that made no chunk still reach the client, on an empty chunk.
      return attach([{ id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices: [] }]);
    },
  };
}

export class Transport {
  private readonly agents = new AgentPool();
  /** What this node's requests buffer of upstream bodies at once (bounded), and the most it held. */
  readonly bodies = new BodyBudget();

  /** Closes every pooled upstream connection. */
  async stop(): Promise<void> {
    await this.agents.close();
  }

  /** Sends a request whose response is JSON and returns the parsed body. */
  async sendJson(provider: Provider, account: ProviderAccount, spec: HttpRequestSpec, signal?: AbortSignal): Promise<{ body: unknown; firstByteMs: number }> {
    const sent = await send(this.agents, provider, account, spec, signal);
    sent.deadlines.firstByteSeen();
    let text: string;
    try {
      text = await readCapped(sent.body, MAX_JSON_BODY, this.bodies);
    } catch (err) {
      sent.body.destroy?.();
      throw sent.deadlines.toError(err, sent.what);
    } finally {
      sent.deadlines.done();
    }
    try {
      return { body: JSON.parse(text), firstByteMs: sent.firstByteMs };
    } catch {
      throw new UpstreamError('protocol', `${sent.what}: upstream returned malformed JSON`);
    }
  }

  /** A chat completion against one provider account: JSON, or a stream that has already produced its first chunk. */
  async sendChat(provider: Provider, account: ProviderAccount, req: ChatRequest, ctx: TranslationContext, signal?: AbortSignal): Promise<ChatResult> {
    const spec = provider.chat.request(req, ctx, account);
    if (!req.stream) {
      const { body, firstByteMs } = await this.sendJson(provider, account, spec, signal);
      try {
        return { kind: 'json', response: provider.chat.response(body, ctx, req), firstByteMs };
      } catch (err) {
        throw scrub(err, account);
      }
    }
    const sent = await send(this.agents, provider, account, spec, signal);
    const chunks = await streamOf<ChatChunk>(sent, provider.chat.stream(req, ctx), account);
    return { kind: 'stream', chunks, firstByteMs: sent.firstByteMs };
  }

  /**
   * A client's own body to a target speaking its API (passthrough): the answer in the internal shape for the layers,
   * with the upstream's own JSON body or stream events kept on it for that client.
   */
  async sendNative(
    provider: Provider,
    native: NativeApi,
    account: ProviderAccount,
    inbound: { body: Record<string, unknown>; headers: Record<string, string> },
    ctx: TranslationContext,
    signal?: AbortSignal,
  ): Promise<ChatResult> {
    const spec = native.request(inbound.body, ctx, account, inbound.headers);
    if (inbound.body.stream !== true) {
      const { body, firstByteMs } = await this.sendJson(provider, account, spec, signal);
      try {
        return { kind: 'json', response: withRaw(native.response(body, ctx), { api: native.api, body }), firstByteMs };
      } catch (err) {
        throw scrub(err, account);
      }
    }
    const sent = await send(this.agents, provider, account, spec, signal);
    const chunks = await streamOf<ChatChunk>(sent, keepingRaw(native.stream(ctx), native.api), account);
    return { kind: 'stream', chunks, firstByteMs: sent.firstByteMs };
  }

  /** A legacy text completion, passed through in OpenAI's shape: JSON, or its stream's chunks. */
  async sendCompletions(
    provider: Provider,
    account: ProviderAccount,
    spec: HttpRequestSpec,
    req: CompletionsRequest,
    signal?: AbortSignal,
  ): Promise<Outcome<'completions'>> {
    if (!req.stream) {
      const { body, firstByteMs } = await this.sendJson(provider, account, spec, signal);
      return { kind: 'json', response: body as CompletionsResponse, firstByteMs };
    }
    const sent = await send(this.agents, provider, account, spec, signal);
    const chunks = await streamOf(sent, completionsEvents(sent.what), account);
    return { kind: 'stream', chunks, firstByteMs: sent.firstByteMs };
  }
}
