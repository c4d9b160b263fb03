// What the gateway needs from the node: one pipeline per endpoint, composed elsewhere, plus models, readiness and auth.
import type { ChatRequest } from '../core/openai.ts';
import type { ClientInfo, Handler, RequestContext } from '../pipeline/index.ts';
import type { ResponseStore } from '../responses/index.ts';
import type { TokenCount } from './client-api.ts';

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface GatewayServices {
  chat: Handler<'chat'>;
  embeddings: Handler<'embeddings'>;
  completions: Handler<'completions'>;
  models: () => ModelEntry[];
  /** True when at least one target can be expected to answer. */
  ready: () => { ready: boolean; detail?: unknown };
  /** `POST /v1/messages/count_tokens`: exact from an Anthropic target, else the estimate. */
  countTokens: (req: ChatRequest, ctx: RequestContext) => Promise<TokenCount>;
  /** Stored Responses API responses, and whether the live config stores any. */
  responses: { store: ResponseStore; storing: () => boolean };
  /** Quiet time after which a Messages or Responses stream gets a keep-alive. */
  streamKeepaliveMs: () => number;
  /** Authenticates a request to /v1/*; throws AuthError. Absent in single-user mode. */
  authenticate?: (headers: Record<string, string | string[] | undefined>) => ClientInfo | undefined | Promise<ClientInfo | undefined>;
}
