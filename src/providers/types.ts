// What a provider is: pure translation between the internal OpenAI shape and one upstream wire format.
import type { ChatChunk, ChatRequest, ChatResponse, CompletionsRequest, EmbeddingsRequest, EmbeddingsResponse } from '../core/openai.ts';
import type { UpstreamError } from '../core/errors.ts';

export type ProviderType = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'local';

export interface Timeouts {
  connectMs: number;
  /** Until the response headers (and, for streams, the first event) arrive. */
  firstByteMs: number;
  /** The whole exchange, body included. */
  totalMs: number;
}

/** A provider account after config resolution: where and how to call one upstream. */
export interface ProviderAccount {
  name: string;
  type: ProviderType;
  baseUrl: string;
  key?: string;
  org?: string;
  project?: string;
  /** Azure deployment name (defaults to the target's model). */
  deployment?: string;
  /** Azure `api-version`, Anthropic `anthropic-version`. */
  apiVersion?: string;
  headers: Record<string, string>;
  timeouts: Timeouts;
}

/** An HTTP request to an upstream, built purely from data. `path` is appended to the account's base URL and may hold a query. */
export interface HttpRequestSpec {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** One server-sent event as read off the wire. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Everything a translation may need besides the request: the upstream model name and the id/time to stamp on output. */
export interface TranslationContext {
  /** The model name sent upstream (the target's model). */
  model: string;
  /** Response id and creation time to use when the upstream gives none. */
  id: string;
  created: number;
}

/** Stateful, but pure: upstream events in, OpenAI chunks out. */
export interface StreamTranslator {
  /** One upstream event; returns the chunks it produces. Throws UpstreamError for an in-band error event. */
  push(event: SseEvent): ChatChunk[];
  /** The upstream stream ended: any chunks still owed (a final finish_reason or usage chunk). */
  end(): ChatChunk[];
  /** True once the upstream signalled the end of its stream (e.g. `[DONE]` or `message_stop`). */
  readonly finished: boolean;
}

export interface Provider {
  type: ProviderType;
  /** Public API base used when an account gives no `base_url`/`url`. */
  defaultBaseUrl: string;
  chat: {
    request(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec;
    /** `req` is the request that was sent, for answers that depend on it (e.g. `parallel_tool_calls: false`). */
    response(body: unknown, ctx: TranslationContext, req?: ChatRequest): ChatResponse;
    stream(req: ChatRequest, ctx: TranslationContext): StreamTranslator;
  };
  /** Classifies an upstream error response (status, body text, headers) into an UpstreamError with a clean message. */
  error(status: number, body: string, headers: Record<string, string>): UpstreamError;
  embeddings?: {
    request(req: EmbeddingsRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec;
    response(body: unknown, ctx: TranslationContext): EmbeddingsResponse;
  };
  /** Legacy text completions, for providers that still have them (passed through in OpenAI shape). */
  completions?: {
    request(req: CompletionsRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec;
  };
}
