// Tells a wrapper when a target's answer has really ended: at once for JSON, at the stream's last chunk (or its failure) for streams.
import type { ChatChunk } from '../core/openai.ts';

export type SettleHook = (end: { error?: unknown; tokens?: number }) => void;

function totalTokens(x: unknown): number | undefined {
  const usage = (x as { usage?: { total_tokens?: unknown } } | undefined)?.usage;
  return typeof usage?.total_tokens === 'number' ? usage.total_tokens : undefined;
}

/**
 * Wraps an iterator so `done` runs exactly once: at its end, its failure, or an early `return()` by the consumer —
 * also when the consumer gives up before reading anything, which a generator function's `finally` would miss.
 */
function watched<X>(source: AsyncIterator<X>, seen: (x: X) => void, done: (error?: unknown) => void): AsyncGenerator<X> {
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    done(error);
  };
  const it = {
    async next(): Promise<IteratorResult<X>> {
      try {
        const r = await source.next();
        if (r.done) end();
        else seen(r.value);
        return r;
      } catch (err) {
        end(err ?? new Error('stream failed'));
        throw err;
      }
    },
    async return(value?: unknown): Promise<IteratorResult<X>> {
      end();
      return (await source.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(err?: unknown): Promise<IteratorResult<X>> {
      end(err);
      if (source.throw) return source.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it as unknown as AsyncGenerator<X>;
}

/** Calls `done` when `result` has ended; stream results come back wrapped, everything else unchanged. */
export function onSettled<T>(result: T, done: SettleHook): T {
  const r = result as { kind?: string; chunks?: AsyncGenerator<ChatChunk>; body?: unknown; response?: unknown };
  if (r?.kind === 'stream' && r.chunks) {
    let tokens: number | undefined;
    const chunks = watched(r.chunks, (c) => { tokens = totalTokens(c) ?? tokens; }, (error) => done({ error, tokens }));
    return { ...r, chunks } as T;
  }
  if (r?.kind === 'stream' && r.body && typeof (r.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    const body = watched((r.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator](), () => {}, (error) => done({ error }));
    return { ...r, body } as T;
  }
  done({ tokens: totalTokens(r?.response ?? r?.body ?? r) });
  return result;
}
