// The one thin transport every provider shares: undici keep-alive pools, three timeouts, SSE decoding, error classification.
import { Agent, errors as undiciErrors } from 'undici';
import { createParser } from 'eventsource-parser';
import type { ChatChunk, ChatRequest, ChatResponse } from '../core/openai.ts';
import { UpstreamError, redactSecrets } from '../core/errors.ts';
import type { HttpRequestSpec, Provider, ProviderAccount, SseEvent, Timeouts, TranslationContext } from './types.ts';

/** Upstream JSON bodies larger than this are refused rather than buffered. */
const MAX_JSON_BODY = 32 * 1024 * 1024;
/** A chat stream longer than this is ended as faulty: the layers that watch it keep its text until it ends. */
const MAX_STREAM_BYTES = 32 * 1024 * 1024;

export type ChatResult =
  | { kind: 'json'; response: ChatResponse; firstByteMs: number }
  /** `chunks` starts with the chunks of the first upstream event: once this resolves, the upstream has answered. */
  | { kind: 'stream'; chunks: AsyncGenerator<ChatChunk>; firstByteMs: number };

const agents = new Map<string, Agent>();

function agentFor(t: Timeouts): Agent {
  const key = `${t.connectMs}:${t.firstByteMs}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: t.connectMs },
      headersTimeout: t.firstByteMs,
      bodyTimeout: t.firstByteMs,
      keepAliveTimeout: 30_000,
      connections: 256,
      pipelining: 1,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes every pooled upstream connection (node shutdown, tests). */
export async function closeTransport(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close().catch(() => a.destroy())));
}

/** Origin and path of a base URL plus a request path, split once per base: undici would parse the string every call. */
const parsedBases = new Map<string, { origin: string; prefix: string }>();
function splitUrl(base: string, path: string): { origin: string; path: string } {
  let parsed = parsedBases.get(base);
  if (!parsed) {
    const url = new URL(base);
    parsed = { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
    if (parsedBases.size > 1000) parsedBases.clear();
    parsedBases.set(base, parsed);
  }
  return { origin: parsed.origin, path: parsed.prefix + path };
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Upstreams sometimes echo a key back in an error message: scrub the account's secrets before anything sees it. */
function scrub<E>(err: E, account: ProviderAccount): E {
  if (err instanceof Error) err.message = redactSecrets(err.message, [account.key, ...Object.values(account.headers)]);
  return err;
}

/**
 * One exchange's deadlines on native timers (undici's own are coarse, about a second): the total, and the first byte
 * until it is disarmed. The client's abort is folded into the same signal.
 */
class Deadlines {
  readonly controller = new AbortController();
  fired: 'total' | 'first byte' | null = null;
  private readonly total: NodeJS.Timeout;
  private firstByte: NodeJS.Timeout | undefined;
  private readonly client: AbortSignal | undefined;
  private readonly onClientAbort = () => this.controller.abort(this.client?.reason);

  constructor(t: Timeouts, client: AbortSignal | undefined) {
    this.client = client;
    // Unref'd: an abandoned exchange must never keep the process alive.
    this.total = setTimeout(() => this.fire('total'), t.totalMs).unref();
    this.firstByte = setTimeout(() => this.fire('first byte'), t.firstByteMs).unref();
    if (client?.aborted) this.controller.abort(client.reason);
    else client?.addEventListener('abort', this.onClientAbort, { once: true });
  }

  private fire(which: 'total' | 'first byte'): void {
    this.fired = which;
    this.controller.abort(new Error(`${which} timeout`));
  }

  get signal(): AbortSignal { return this.controller.signal; }

  firstByteSeen(): void {
    clearTimeout(this.firstByte);
    this.firstByte = undefined;
  }

  done(): void {
    clearTimeout(this.total);
    clearTimeout(this.firstByte);
    this.client?.removeEventListener('abort', this.onClientAbort);
  }

  /** Maps a thrown network/abort error to an UpstreamError; a client abort is rethrown untouched. */
  toError(err: unknown, what: string): unknown {
    if (err instanceof UpstreamError) return err;
    if (this.client?.aborted) return this.client.reason ?? err;
    if (this.fired === 'total') return new UpstreamError('timeout', `${what}: total timeout exceeded`);
    if (this.fired === 'first byte') return new UpstreamError('timeout', `${what}: nothing received before the first-byte timeout`);
    if (err instanceof undiciErrors.ConnectTimeoutError) return new UpstreamError('timeout', `${what}: connect timeout`);
    if (err instanceof undiciErrors.HeadersTimeoutError) return new UpstreamError('timeout', `${what}: no response headers before the first-byte timeout`);
    if (err instanceof undiciErrors.BodyTimeoutError) return new UpstreamError('timeout', `${what}: upstream went silent mid-response`);
    const code = (err as { code?: string })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
    const detail = code ?? (err instanceof Error ? err.name : 'error');
    return new UpstreamError('connect', `${what}: connection failed (${detail})`);
  }
}

/**
 * Bytes of upstream bodies being buffered right now, by all requests together, and the most this node held. A faulty
 * upstream sending huge bodies to many requests at once fails them as soon as they pass the node's share, instead of
 * each buffering up to MAX_JSON_BODY (32 at once held ~1 GB): memory once given to the C heap is seldom given back.
 */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
let buffered = 0;
let bufferedPeak = 0;

/** What upstream bodies hold now and held at most since the process started (for tests and benchmarks). */
export function bufferedBodies(): { bytes: number; peak: number } {
  return { bytes: buffered, peak: bufferedPeak };
}

/** Reads a body of at most `cap` bytes, within the node-wide budget for bodies being buffered. */
async function readCapped(body: AsyncIterable<Uint8Array>, cap: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size + chunk.length > cap) throw new UpstreamError('protocol', `upstream response larger than ${cap} bytes`);
      if (buffered + chunk.length > MAX_BUFFERED_BYTES) throw new UpstreamError('overloaded', `upstream responses being read exceed ${MAX_BUFFERED_BYTES} bytes`);
      parts.push(chunk);
      size += chunk.length;
      buffered += chunk.length;
      bufferedPeak = Math.max(bufferedPeak, buffered);
    }
    return Buffer.concat(parts, size).toString('utf8');
  } finally {
    buffered -= size;
  }
}

interface Sent {
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void };
  firstByteMs: number;
  deadlines: Deadlines;
  what: string;
}

/**
 * Sends one request; resolves once the response headers are in. Non-2xx becomes the provider's classified
 * UpstreamError. The caller owns `deadlines` and calls `done()` when the body is consumed.
 */
async function send(provider: Provider, account: ProviderAccount, spec: HttpRequestSpec, clientSignal?: AbortSignal): Promise<Sent> {
  const base = account.baseUrl || provider.defaultBaseUrl;
  const what = `${account.name} (${provider.type})`;
  if (!base) throw new UpstreamError('client', `${what}: no base URL configured`, { status: 500 });
  const deadlines = new Deadlines(account.timeouts, clientSignal);
  const started = performance.now();
  let res;
  try {
    res = await agentFor(account.timeouts).request({
      ...splitUrl(base, spec.path),
      method: spec.method,
      headers: spec.headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal: deadlines.signal,
    });
  } catch (err) {
    deadlines.done();
    throw deadlines.toError(err, what);
  }
  const headers = flatHeaders(res.headers);
  if (res.statusCode < 200 || res.statusCode >= 300) {
    let text = '';
    try { text = await readCapped(res.body, 64 * 1024); } catch { res.body.destroy(); }
    deadlines.done();
    throw scrub(provider.error(res.statusCode, text, headers), account);
  }
  return { headers, body: res.body, firstByteMs: performance.now() - started, deadlines, what };
}

/** Sends a request whose response is JSON and returns the parsed body. */
export async function sendJson(provider: Provider, account: ProviderAccount, spec: HttpRequestSpec, signal?: AbortSignal): Promise<{ body: unknown; firstByteMs: number }> {
  const sent = await send(provider, account, spec, signal);
  sent.deadlines.firstByteSeen();
  let text: string;
  try { text = await readCapped(sent.body, MAX_JSON_BODY); } catch (err) {
    sent.body.destroy?.();
    throw sent.deadlines.toError(err, sent.what);
  } finally {
    sent.deadlines.done();
  }
  try { return { body: JSON.parse(text), firstByteMs: sent.firstByteMs }; } catch {
    throw new UpstreamError('protocol', `${sent.what}: upstream returned malformed JSON`);
  }
}

/** Sends a request whose (streamed) response body is passed on untranslated, e.g. legacy completions. */
export async function sendRawStream(provider: Provider, account: ProviderAccount, spec: HttpRequestSpec, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const sent = await send(provider, account, spec, signal);
  sent.deadlines.firstByteSeen();
  return (async function* () {
    try { yield* sent.body; } catch (err) { throw sent.deadlines.toError(err, sent.what); } finally { sent.deadlines.done(); sent.body.destroy?.(); }
  })();
}

/** Decodes a byte stream of server-sent events, refusing more than `maxBytes`. */
export async function* readSse(body: AsyncIterable<Uint8Array>, maxBytes = Infinity): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending: SseEvent[] = [];
  let size = 0;
  const parser = createParser({ onEvent: (ev) => { pending.push({ event: ev.event, data: ev.data }); } });
  for await (const bytes of body) {
    size += bytes.length;
    if (size > maxBytes) throw new UpstreamError('protocol', `upstream stream longer than ${maxBytes} bytes`);
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (pending.length) {
      const out = pending;
      pending = [];
      yield* out;
    }
  }
  parser.feed(decoder.decode());
  parser.reset({ consume: true });
  yield* pending;
}

/** A chat completion against one provider account: JSON, or a stream that has already produced its first chunk. */
export async function sendChat(provider: Provider, account: ProviderAccount, req: ChatRequest, ctx: TranslationContext, signal?: AbortSignal): Promise<ChatResult> {
  const spec = provider.chat.request(req, ctx, account);
  if (!req.stream) {
    const { body, firstByteMs } = await sendJson(provider, account, spec, signal);
    try { return { kind: 'json', response: provider.chat.response(body, ctx), firstByteMs }; } catch (err) { throw scrub(err, account); }
  }
  const sent = await send(provider, account, spec, signal);
  const { what, deadlines } = sent;
  const translator = provider.chat.stream(req, ctx);
  const events = readSse(sent.body, MAX_STREAM_BYTES);
  const nextEvent = async () => {
    try { return await events.next(); } catch (err) { throw deadlines.toError(err, what); }
  };

  async function* chunks(first: ChatChunk[]): AsyncGenerator<ChatChunk> {
    try {
      yield* first;
      while (true) {
        const next = await nextEvent();
        if (next.done) break;
        try { yield* translator.push(next.value); } catch (err) { throw scrub(err, account); }
      }
      yield* translator.end();
      if (!translator.finished) throw new UpstreamError('protocol', `${what}: stream ended before the upstream finished it`);
    } finally {
      deadlines.done();
      await events.return(undefined).catch(() => {});
      sent.body.destroy?.();
    }
  }

  // Pull until the upstream has produced at least one chunk, so a failure before the first byte can still fall back.
  const first: ChatChunk[] = [];
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
  return { kind: 'stream', chunks: chunks(first), firstByteMs: sent.firstByteMs };
}
