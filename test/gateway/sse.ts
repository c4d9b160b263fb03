// Test helpers: post a JSON body to the real server and read its answer as server-sent events, exactly as sent.
import { createParser } from 'eventsource-parser';

export interface WireEvent {
  event?: string;
  data: string;
  json: any;
}

export interface SseReply {
  status: number;
  headers: Headers;
  text: string;
  events: WireEvent[];
}

/** POSTs `body` and parses the whole SSE answer (comments kept in `text` only). */
export async function postSse(url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, events: parseSse(text) };
}

export function parseSse(text: string): WireEvent[] {
  const events: WireEvent[] = [];
  const parser = createParser({
    onEvent: (e) => {
      let json: unknown;
      try {
        json = JSON.parse(e.data);
      } catch {
        json = undefined;
      }
      events.push({ ...(e.event ? { event: e.event } : {}), data: e.data, json });
    },
  });
  parser.feed(text);
  return events;
}
