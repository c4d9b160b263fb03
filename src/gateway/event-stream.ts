// Writes a chat stream to a client of another API (Anthropic Messages, OpenAI Responses) as that API's server-sent
// events, with keep-alives while the upstream is slow and the API's own in-band error when it breaks.
import type { ServerResponse } from 'node:http';
import type { ChatChunk } from '../core/openai.ts';
import type { RawSseEvent } from '../core/passthrough.ts';
import { SSE_HEADERS, write, type StreamWriteOutcome } from './sse.ts';

/** How one client API's stream is written; each method returns wire text ('' for nothing). */
export interface StreamEncoding {
  /** The events of one chunk: its own encoding, or the upstream's events when they are in the client's API. */
  chunk(chunk: ChatChunk): string;
  /** After the last chunk of a stream that ran to its end. */
  end(): string;
  /** The upstream broke after the first byte. */
  error(err: unknown): string;
  /** Sent when nothing else was for `pingMs`. */
  ping(): string;
}

/**
 * Streams every chunk through the encoding (a ping whenever the stream has been quiet for `pingMs`), then its end,
 * or its error event when the upstream fails; a client that leaves ends the stream as aborted.
 */
export async function writeEventStream(
  res: ServerResponse,
  headers: Record<string, string>,
  chunks: AsyncGenerator<ChatChunk>,
  encoding: StreamEncoding,
  pingMs: number,
  first?: IteratorResult<ChatChunk>,
): Promise<StreamWriteOutcome> {
  res.writeHead(200, { ...headers, ...SSE_HEADERS });
  const keepAlive = setTimeout(function ping() {
    if (res.destroyed) return;
    res.write(encoding.ping());
    keepAlive.refresh();
  }, pingMs);
  const send = (text: string): Promise<void> | void => {
    if (!text) return;
    keepAlive.refresh();
    return write(res, text);
  };
  let error: unknown;
  try {
    // `first`: a chunk the caller already took (to look at before the headers went out).
    for (let next = first ?? (await chunks.next()); !res.destroyed; next = await chunks.next()) {
      if (next.done) break;
      let text: string;
      try {
        text = encoding.chunk(next.value);
      } catch (err) {
        // The chunk cannot be said in the client's API (a broken upstream): the request ends in that error.
        await chunks.throw(err).catch(() => {});
        throw err;
      }
      const pending = send(text);
      if (pending) await pending;
      if (res.destroyed) break;
    }
  } catch (err) {
    error = err;
  } finally {
    clearTimeout(keepAlive);
  }
  const aborted = res.destroyed && !res.writableFinished;
  if (aborted) {
    await chunks.return(undefined).catch(() => {});
    return { aborted: true, error };
  }
  let tail = '';
  try {
    tail = error === undefined ? encoding.end() : encoding.error(error);
  } catch (err) {
    // The end itself may find the stream unfinishable (a protocol fault): that is its error.
    error ??= err;
    tail = encoding.error(err);
  }
  res.end(tail);
  return { aborted: false, error };
}

/** An upstream's event as it came, back on the wire (multi-line data keeps one `data:` per line). */
export function formatRawSse(e: RawSseEvent): string {
  const data = e.data.includes('\n')
    ? e.data
        .split('\n')
        .map((l) => `data: ${l}`)
        .join('\n')
    : `data: ${e.data}`;
  return `${e.event !== undefined ? `event: ${e.event}\n` : ''}${data}\n\n`;
}
