// The cache key: a sha256 over a canonical form of everything that shapes an answer, so key order and whitespace don't split it.
import { createHash } from 'node:crypto';
import type { ChatRequest } from '../core/openai.ts';
import { normalizeRequest } from './normalize.ts';

/** Request fields that change the answer; everything else (stream, user, metadata, flowrouter…) does not. */
const ANSWER_FIELDS = [
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'temperature',
  'top_p',
  'n',
  'stop',
  'seed',
  'max_tokens',
  'max_completion_tokens',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'reasoning_effort',
  'modalities',
  'prediction',
  'verbosity',
  'top_k',
  'thinking',
] as const;

/** JSON with object keys sorted at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` serialize alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** Tool arguments are JSON text: parsed and re-serialized canonically when they parse, so their spacing doesn't count. */
function canonicalArguments(req: ChatRequest): ChatRequest['messages'] {
  return req.messages.map((m) => {
    if (!m.tool_calls) return m;
    return {
      ...m,
      tool_calls: m.tool_calls.map((c) => {
        try {
          return { ...c, function: { ...c.function, arguments: JSON.parse(c.function.arguments) } };
        } catch {
          return c;
        }
      }),
    } as ChatRequest['messages'][number];
  });
}

/** The key of a request served by `scope` (the chain, plus the model asked for when the chain passes models through). */
export function cacheKey(req: ChatRequest, scope: string): string {
  const normalized = normalizeRequest(req).request;
  const shape: Record<string, unknown> = { scope };
  for (const f of ANSWER_FIELDS) if (normalized[f] !== undefined) shape[f] = normalized[f];
  shape.messages = canonicalArguments(normalized);
  return createHash('sha256').update(canonicalJson(shape)).digest('hex');
}
