// Writes a stream to the client as OpenAI server-sent events, keeping the `[DONE]` contract even when the upstream breaks.
import type { ServerResponse } from 'node:http';
import { renderError } from '../core/errors.ts';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/** Writes, waiting for the socket to drain when its buffer is full (or for it to close). */
export function write(res: ServerResponse, text: string): Promise<void> | void {
  if (res.write(text)) return;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export interface StreamWriteOutcome {
  /** The client went away before the end. */
  aborted: boolean;
  /** The error that ended the stream early, already sent to the client as an error event. */
  error?: unknown;
}

/**
 * Streams chunks as `data:` events and always ends with `data: [DONE]`; an error after the first byte becomes an
 * `{"error":…}` event. Chunks Flow Router asked for on the client's behalf (internal usage) are not sent.
 */
export async function writeSse(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  chunks: AsyncGenerator<unknown>,
): Promise<StreamWriteOutcome> {
  res.writeHead(status, { ...headers, ...SSE_HEADERS });
  let error: unknown;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) break;
      if ((chunk as { flowrouter_internal_usage?: unknown }).flowrouter_internal_usage) continue;
      const pending = write(res, `data: ${JSON.stringify(chunk)}\n\n`);
      if (pending) await pending;
    }
  } catch (err) {
    error = err;
  }
  const aborted = res.destroyed && !res.writableFinished;
  if (aborted) {
    await chunks.return(undefined).catch(() => {});
    return { aborted: true, error };
  }
  if (error !== undefined) res.write(`data: ${JSON.stringify(renderError(error).body)}\n\n`);
  res.end('data: [DONE]\n\n');
  return { aborted: false, error };
}
