// An Anthropic Messages request on its way through the pipeline: translated for any target where it can be, and the
// client's own body, cleaned of what only Flow Router understands, for Anthropic targets (passthrough).
import type { ChatRequest } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import { isCarrierToken } from '../carrier.ts';
import { ANTHROPIC_ONLY_FIELDS, anthropicToChatRequest } from './request.ts';
import type { InboundBlock, InboundMessage, MessagesRequest } from './wire.ts';
import { leaveOutServerTools } from './server-tools.ts';

/** Refusals that name something only Anthropic's own servers can serve: such a request may still go to Anthropic. */
const ANTHROPIC_ONLY_CODES = new Set(['unsupported_parameter', 'unsupported_tool', 'unsupported_content']);

const USER_BLOCKS = new Set(['text', 'image', 'document', 'tool_result']);
const ASSISTANT_BLOCKS = new Set(['text', 'thinking', 'redacted_thinking', 'tool_use']);
const RESULT_BLOCKS = new Set(['text', 'image', 'document']);

/** A block the translation reads: a known type, and no source naming a file stored at Anthropic. */
function translatable(b: InboundBlock, allowed: Set<string>): boolean {
  return !!b && typeof b === 'object' && allowed.has(b.type) && b.source?.type !== 'file';
}

function keptBlocks(content: InboundMessage['content'], allowed: Set<string>): InboundMessage['content'] {
  if (!Array.isArray(content)) return content;
  return content
    .filter((b) => translatable(b, allowed))
    .map((b) => (b.type === 'tool_result' && Array.isArray(b.content) ? { ...b, content: b.content.filter((c) => translatable(c, RESULT_BLOCKS)) } : b));
}

/** The request without what only Anthropic serves (its server tools, blocks and fields), for the pipeline's own use. */
function translatablePart(body: MessagesRequest): MessagesRequest {
  const out: MessagesRequest = { ...body };
  for (const field of ANTHROPIC_ONLY_FIELDS) delete out[field];
  if (Array.isArray(body.tools)) {
    out.tools = body.tools.filter((t) => t?.type == null || t.type === 'custom');
    const named = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
    if (named !== undefined && !out.tools.some((t) => t.name === named)) delete out.tool_choice;
    if (out.tools.length === 0) {
      delete out.tools;
      delete out.tool_choice;
    }
  }
  if (Array.isArray(body.messages)) {
    out.messages = body.messages.map((m) =>
      m && typeof m === 'object' ? { ...m, content: keptBlocks(m.content, m.role === 'assistant' ? ASSISTANT_BLOCKS : USER_BLOCKS) } : m,
    );
  }
  return out;
}

export interface TranslatedMessages {
  /** The internal request every layer reads (cache key, token counts, route rules, usage). */
  request: ChatRequest;
  /** Why the request cannot be translated whole: it may then only go, unchanged, to an Anthropic target. */
  untranslatable?: ClientError;
  /** What a translated request leaves out (Anthropic's server tools and their blocks), by path. */
  leftOut: string[];
}

/**
 * Translates a Messages request. Anthropic's server tools are left out (and listed): they run at Anthropic, and only
 * offer the model more. When the request uses something else only Anthropic serves (`container`, `mcp_servers`, its
 * own client tools, blocks of types the translation does not know), the rest is translated for the pipeline and the
 * refusal is kept: the request then goes to Anthropic targets as sent and is refused by every other target.
 */
export function translateMessagesRequest(body: MessagesRequest): TranslatedMessages {
  const left = leaveOutServerTools(body);
  try {
    return { request: anthropicToChatRequest(left.body), leftOut: left.leftOut, ...(left.refusal ? { untranslatable: left.refusal } : {}) };
  } catch (err) {
    if (!(err instanceof ClientError) || !ANTHROPIC_ONLY_CODES.has(err.code)) throw err;
    return { request: anthropicToChatRequest(translatablePart(left.body)), untranslatable: left.refusal ?? err, leftOut: left.leftOut };
  }
}

/** Thinking blocks Anthropic refuses: unsigned ones (another model's reasoning) and Flow Router's state tokens. */
function foreignThinking(b: InboundBlock): boolean {
  return b?.type === 'thinking' && (typeof b.signature !== 'string' || b.signature === '' || isCarrierToken(b.signature));
}

const hasForeignThinking = (m: InboundMessage): boolean => m?.role === 'assistant' && Array.isArray(m.content) && m.content.some(foreignThinking);

function textOf(content: InboundMessage['content']): string {
  return typeof content === 'string' ? content : Array.isArray(content) ? content.map((b) => (b?.type === 'text' ? (b.text ?? '') : '')).join('') : '';
}

function blocksOf(content: InboundMessage['content']): InboundBlock[] {
  return typeof content === 'string' ? (content ? [{ type: 'text', text: content }] : []) : content;
}

/**
 * Messages with role `system` (Claude Code sends some for model names it does not know as Claude's) become system
 * text, where Anthropic takes it; the turns on either side of one are then the same role, and are joined.
 */
function withoutSystemMessages(body: MessagesRequest, messages: InboundMessage[]): MessagesRequest {
  const system = messages
    .filter((m) => m?.role === 'system')
    .map((m) => textOf(m.content))
    .filter(Boolean);
  const turns: InboundMessage[] = [];
  for (const m of messages) {
    if (m?.role === 'system') continue;
    const last = turns.at(-1);
    if (last && last.role === m?.role) turns[turns.length - 1] = { ...last, content: [...blocksOf(last.content), ...blocksOf(m.content)] };
    else turns.push(m);
  }
  const out: MessagesRequest = { ...body, messages: turns };
  for (const text of system) Object.assign(out, anthropicWithSystemText(out, text));
  return out;
}

/**
 * The client's body as it goes to an Anthropic target: unchanged, but for what Anthropic would refuse that Flow Router
 * or a gateway-minded client put there: thinking blocks of other providers (unsigned, or Flow Router's token) and
 * messages with role `system`. Messages not touched keep their identity.
 */
export function anthropicPassthroughBody(body: MessagesRequest): Record<string, unknown> {
  if (!Array.isArray(body.messages)) return body;
  const foreign = body.messages.some(hasForeignThinking);
  const systemRole = body.messages.some((m) => m?.role === 'system');
  if (!foreign && !systemRole) return body;
  const messages = foreign
    ? body.messages.map((m) => (hasForeignThinking(m) ? { ...m, content: (m.content as InboundBlock[]).filter((b) => !foreignThinking(b)) } : m))
    : body.messages;
  return systemRole ? withoutSystemMessages(body, messages) : { ...body, messages };
}

/**
 * System text the pipeline added (RAG passages), at the end of the client's `system` so the client's own cache
 * breakpoints keep their prefix.
 */
export function anthropicWithSystemText(body: Record<string, unknown>, text: string): Record<string, unknown> {
  const system = body.system;
  if (Array.isArray(system)) return { ...body, system: [...system, { type: 'text', text }] };
  return { ...body, system: typeof system === 'string' && system ? `${system}\n\n${text}` : text };
}
