// What the gateway needs from the node: one pipeline per endpoint, composed elsewhere, plus models, readiness and auth.
import type { ClientInfo, Handler } from '../pipeline/index.ts';

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
  /** Authenticates a request to /v1/*; throws AuthError. Absent in single-user mode. */
  authenticate?: (headers: Record<string, string | string[] | undefined>) => ClientInfo | undefined | Promise<ClientInfo | undefined>;
}
