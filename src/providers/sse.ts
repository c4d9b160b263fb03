// Server-sent events off an upstream byte stream.
import { createParser } from 'eventsource-parser';
import type { SseEvent } from './types.ts';

/** Decodes a byte stream of server-sent events. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending: SseEvent[] = [];
  const parser = createParser({ onEvent: (ev) => { pending.push({ event: ev.event, data: ev.data }); } });
  for await (const bytes of body) {
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
