// The client APIs a request may arrive in, and the upstream's own answer kept beside the internal one when the client
// and the target speak the same API (passthrough), so it can go back to that client untranslated.

/** Chat Completions (the internal shape), Anthropic's Messages, OpenAI's Responses. */
export type ClientApi = 'chat' | 'anthropic' | 'responses';

/** One server-sent event as the upstream sent it (`data` is the raw text). */
export interface RawSseEvent {
  event?: string;
  data: string;
}

/**
 * The upstream's own answer in `api`: its JSON body, or the events a stream chunk was made from (an empty list when
 * another chunk carries them). A symbol key: JSON never serializes it, so it cannot reach a client of another API,
 * the cache or a mesh peer; every layer keeps seeing the internal shape.
 */
export const RAW = Symbol('flowrouter.raw');

export interface RawAnswer {
  api: ClientApi;
  body?: unknown;
  events?: RawSseEvent[];
}

type WithRaw = { [RAW]?: RawAnswer };

/** Attaches the upstream's own answer to an internal response or chunk (returns the same object). */
export function withRaw<T extends object>(target: T, raw: RawAnswer): T {
  (target as WithRaw)[RAW] = raw;
  return target;
}

/** The upstream's own answer when it is in `api`, else undefined (the client then gets the internal one re-encoded). */
export function rawFor(value: unknown, api: ClientApi): RawAnswer | undefined {
  const raw = value && typeof value === 'object' ? (value as WithRaw)[RAW] : undefined;
  return raw?.api === api ? raw : undefined;
}
