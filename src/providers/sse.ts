// Server-sent events off an upstream byte stream.
import { createParser } from 'eventsource-parser';
import { UpstreamError } from '../core/errors.ts';
import type { SseEvent } from './types.ts';

/** Decodes a byte stream of server-sent events, refusing more than `maxBytes`. */
export async function* readSse(body: AsyncIterable<Uint8Array>, maxBytes = Infinity): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending: SseEvent[] = [];
  let size = 0;
  const parser = createParser({
    onEvent: (ev) => {
      pending.push({ event: ev.event, data: ev.data });
    },
  });
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
