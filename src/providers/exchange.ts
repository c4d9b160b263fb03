// One HTTP exchange with an upstream: a pooled undici request under native deadlines, non-2xx classified, secrets scrubbed.
import { Agent, errors as undiciErrors } from 'undici';
import { UpstreamError, redactSecrets } from '../core/errors.ts';
import type { HttpRequestSpec, Provider, ProviderAccount, Timeouts } from './types.ts';

/** Keep-alive connection pools by timeout settings: owned by one Transport, closed when it stops. */
export class AgentPool {
  private readonly agents = new Map<string, Agent>();

  agentFor(t: Timeouts): Agent {
    const key = `${t.connectMs}:${t.firstByteMs}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: { timeout: t.connectMs },
        headersTimeout: t.firstByteMs,
        bodyTimeout: t.firstByteMs,
        keepAliveTimeout: 30_000,
        connections: 256,
        pipelining: 1,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(all.map((a) => a.close().catch(() => a.destroy())));
  }
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
export function scrub<E>(err: E, account: ProviderAccount): E {
  if (err instanceof Error) err.message = redactSecrets(err.message, [account.key, ...Object.values(account.headers)]);
  return err;
}

/**
 * One exchange's deadlines on native timers (undici's own are coarse, about a second): the total, and the first byte
 * until it is disarmed. The client's abort is folded into the same signal.
 */
export class Deadlines {
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

  get signal(): AbortSignal {
    return this.controller.signal;
  }

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
 * Bytes of upstream bodies being buffered right now, by all of one transport's requests together, and the most it
 * held. A faulty upstream sending huge bodies to many requests at once fails them as soon as they pass this share,
 * instead of each buffering up to its cap (32 at once held ~1 GB): memory once given to the C heap is seldom given back.
 */
export class BodyBudget {
  bytes = 0;
  peak = 0;
  readonly limit: number;

  constructor(limit = 64 * 1024 * 1024) {
    this.limit = limit;
  }
}

/** Reads a body of at most `cap` bytes, within the budget for bodies being buffered (when one is given). */
export async function readCapped(body: AsyncIterable<Uint8Array>, cap: number, budget?: BodyBudget): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size + chunk.length > cap) throw new UpstreamError('protocol', `upstream response larger than ${cap} bytes`);
      if (budget && budget.bytes + chunk.length > budget.limit)
        throw new UpstreamError('overloaded', `upstream responses being read exceed ${budget.limit} bytes`);
      parts.push(chunk);
      size += chunk.length;
      if (budget) {
        budget.bytes += chunk.length;
        budget.peak = Math.max(budget.peak, budget.bytes);
      }
    }
    return Buffer.concat(parts, size).toString('utf8');
  } finally {
    if (budget) budget.bytes -= size;
  }
}

export interface Sent {
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
export async function send(agents: AgentPool, provider: Provider, account: ProviderAccount, spec: HttpRequestSpec, clientSignal?: AbortSignal): Promise<Sent> {
  const base = account.baseUrl || provider.defaultBaseUrl;
  const what = `${account.name} (${provider.type})`;
  if (!base) throw new UpstreamError('client', `${what}: no base URL configured`, { status: 500 });
  const deadlines = new Deadlines(account.timeouts, clientSignal);
  const started = performance.now();
  let res;
  try {
    res = await agents.agentFor(account.timeouts).request({
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
    try {
      text = await readCapped(res.body, 64 * 1024);
    } catch {
      res.body.destroy();
    }
    deadlines.done();
    throw scrub(provider.error(res.statusCode, text, headers), account);
  }
  return { headers, body: res.body, firstByteMs: performance.now() - started, deadlines, what };
}
