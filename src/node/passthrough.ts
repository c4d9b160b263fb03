// Which targets get a client's own body (its API is theirs: passthrough) and what that body is once the pipeline's
// layers have had their say.
import type { TargetConfig } from '../config/index.ts';
import type { ChatRequest } from '../core/openai.ts';
import { anthropicInbound, responsesInbound } from '../inbound/index.ts';
import type { InboundRequest } from '../pipeline/index.ts';
import type { NativeApi, Provider } from '../providers/index.ts';

/** The client API this target speaks natively: Anthropic targets the Messages API, `api: responses` targets the Responses API. */
function nativeOf(target: TargetConfig, provider: Provider, api: InboundRequest['api']): NativeApi | undefined {
  if (api === 'responses' && target.api !== 'responses') return undefined;
  return provider.native?.[api];
}

/**
 * System text layers added to the conversation (RAG passages): undefined when nothing changed, null when it changed
 * in another way (the request is then the gateway's own and goes translated).
 */
function addedSystemText(req: ChatRequest, inbound: InboundRequest): string | null | undefined {
  if (req.messages === inbound.messages) return undefined;
  const known = new Set(inbound.messages);
  const added = req.messages.filter((m) => !known.has(m));
  if (req.messages.length - added.length !== inbound.messages.length) return null;
  if (added.some((m) => m.role !== 'system' || typeof m.content !== 'string')) return null;
  return added.map((m) => m.content as string).join('\n\n');
}

export interface Passthrough {
  native: NativeApi;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * The passthrough for this attempt, or undefined when the target gets the translated request. A request only its
 * own API's vendor can serve is passed through even when a layer changed its conversation in a way it cannot carry.
 */
export function passthroughFor(target: TargetConfig, provider: Provider, req: ChatRequest, inbound: InboundRequest | undefined): Passthrough | undefined {
  const native = inbound && nativeOf(target, provider, inbound.api);
  if (!inbound || !native) return undefined;
  const added = addedSystemText(req, inbound);
  if (added === null && !inbound.untranslatable) return undefined;
  let body = inbound.body;
  if (added) body = inbound.api === 'anthropic' ? anthropicInbound.anthropicWithSystemText(body, added) : responsesInbound.responsesWithSystemText(body, added);
  return { native, body, headers: inbound.headers };
}
