// What a provider is: pure translation between the internal OpenAI shape and one upstream wire format.
import type { ChatChunk, ChatRequest, ChatResponse, CompletionsRequest, EmbeddingsRequest, EmbeddingsResponse } from '../core/openai.ts';
import type { UpstreamError } from '../core/errors.ts';
import type { ClientApi } from '../core/passthrough.ts';
import type { ProviderAccount } from '../config/accounts.ts';

/** A provider's name in the registry (`providers/registry.ts`) and in the config's `type:`/`provider:` keys. */
export type ProviderType = string;

// The account a provider is called with is the config's typed output (one schema, no copy here).
export type { ProviderAccount, Timeouts } from '../config/accounts.ts';

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

/**
 * A client API the provider speaks itself (Anthropic's Messages; OpenAI's Responses): the client's body goes up as it
 * was sent but for the model (passthrough), and the answer is read into the internal shape for the pipeline's layers
 * while the transport keeps the upstream's own bytes for the client.
 */
export interface NativeApi {
  api: Exclude<ClientApi, 'chat'>;
  /** `headers`: the request headers of that API the client sent beyond credentials (e.g. `anthropic-beta`). */
  request(body: Record<string, unknown>, ctx: TranslationContext, account: ProviderAccount, headers: Record<string, string>): HttpRequestSpec;
  response(body: unknown, ctx: TranslationContext): ChatResponse;
  stream(ctx: TranslationContext): StreamTranslator;
  /** The API's token count for the same kind of body, where it has one (`{input_tokens}`). */
  countTokens?(body: Record<string, unknown>, ctx: TranslationContext, account: ProviderAccount, headers: Record<string, string>): HttpRequestSpec;
}

export interface Provider {
  type: ProviderType;
  /** Public API base used when an account gives no `base_url`/`url`; empty when every account must give its own. */
  defaultBaseUrl: string;
  /** Shown in the config error when `defaultBaseUrl` is empty and an account gives no URL. */
  baseUrlExample?: string;
  /** Runs on the operator's own hardware: no per-token price, so the `cost` strategy ranks it free. */
  selfHosted?: boolean;
  /** A cheap request whose success shows the upstream is up (the router's active health check); none means not probed. */
  probe?(account: ProviderAccount): HttpRequestSpec;
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
  /** Client APIs besides Chat Completions this provider speaks natively (`responses` only for targets with `api: responses`). */
  native?: Partial<Record<NativeApi['api'], NativeApi>>;
  /** Legacy text completions, for providers that still have them (passed through in OpenAI shape). */
  completions?: {
    request(req: CompletionsRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec;
  };
}
