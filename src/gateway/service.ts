// What the gateway needs from the node: a function per endpoint, composed elsewhere (tenancy → cache → router).
import type { ChatRequest, CompletionsRequest, EmbeddingsRequest, EmbeddingsResponse } from '../core/openai.ts';
import type { ChatResult } from '../providers/index.ts';
import type { RequestMeta } from '../router/index.ts';

export interface ChatOutcome {
  result: ChatResult;
  /** Response headers (x-flowrouter-chain, -target, -attempts, -cache …). */
  headers: Record<string, string>;
  /** Told how the response ended once it has been written (usage recording hooks in here). */
  done?: (end: { aborted: boolean; error?: unknown }) => void;
}

export type ChatService = (req: ChatRequest, meta: RequestMeta) => Promise<ChatOutcome>;
export type EmbeddingsService = (req: EmbeddingsRequest, meta: RequestMeta) => Promise<{ body: EmbeddingsResponse; headers: Record<string, string> }>;
export type CompletionsService = (req: CompletionsRequest, meta: RequestMeta) => Promise<
  { kind: 'json'; body: unknown; headers: Record<string, string> } | { kind: 'stream'; body: AsyncIterable<Uint8Array>; headers: Record<string, string> }>;

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface GatewayServices {
  chat: ChatService;
  embeddings: EmbeddingsService;
  completions: CompletionsService;
  models: () => ModelEntry[];
  /** True when at least one target can be expected to answer. */
  ready: () => { ready: boolean; detail?: unknown };
  /** Authenticates a request to /v1/*; throws AuthError. Absent in single-user mode. */
  authenticate?: (headers: Record<string, string | string[] | undefined>) => RequestMeta['client'] | Promise<RequestMeta['client']>;
}
