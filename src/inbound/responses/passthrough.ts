// A Responses request on its way through the pipeline: translated for any target where it can be, and the client's
// own body, made stateless, for targets that speak the Responses API themselves (`api: responses`).
import { ClientError } from '../../core/errors.ts';
import { isCarrierToken } from '../carrier.ts';
import type { ResponsesTranslationOptions } from './request.ts';
import { responsesToChatRequest } from './request.ts';
import type { ChatRequest } from '../../core/openai.ts';
import type { InputItem, InputPart, ResponsesRequest } from './wire.ts';
import { leaveOutHostedTools } from './hosted-tools.ts';

/** Refusals that name something OpenAI's own servers serve (hosted tools, stored prompts, their item types). */
const OPENAI_ONLY_CODES = new Set(['unsupported_tool', 'unsupported_content']);

const ITEM_TYPES = new Set(['message', 'function_call', 'function_call_output', 'reasoning', 'item_reference']);
const PART_TYPES = new Set(['input_text', 'output_text', 'refusal', 'input_image', 'input_file']);

function keptParts(content: InputItem['content']): InputItem['content'] {
  if (!Array.isArray(content)) return content;
  return content.filter((p: InputPart) => p && PART_TYPES.has(p.type) && !(p.type === 'input_image' && !p.image_url));
}

function translatableItems(items: InputItem[]): InputItem[] {
  return items
    .filter((i) => i && ITEM_TYPES.has(i.type ?? (i.role ? 'message' : '')))
    .map((i) => (Array.isArray(i.content) ? { ...i, content: keptParts(i.content) } : i));
}

/** The request without OpenAI's hosted tools, stored prompt and the item types only OpenAI reads, for the pipeline's own use. */
function translatablePart(body: ResponsesRequest): ResponsesRequest {
  const out: ResponsesRequest = { ...body };
  delete out.prompt;
  if (Array.isArray(body.tools)) out.tools = body.tools.filter((t) => t?.type === 'function');
  const choice = body.tool_choice;
  if (choice && typeof choice === 'object' && choice.type !== 'function' && choice.type !== 'allowed_tools') delete out.tool_choice;
  if (Array.isArray(body.input)) out.input = translatableItems(body.input);
  return out;
}

export interface TranslatedResponses {
  request: ChatRequest;
  /** Why the request cannot be translated whole: it may then only go to a target with `api: responses`. */
  untranslatable?: ClientError;
  /** What a translated request leaves out (OpenAI's hosted tools and their items), by path. */
  leftOut: string[];
}

/**
 * Translates a Responses request. OpenAI's hosted tools and `namespace` groups are left out (and listed), with their
 * items in the history. When the request uses what only OpenAI serves otherwise (a stored `prompt`, a tool_choice
 * forcing a hosted tool, client tools of other types, items the translation does not know), the rest is translated
 * for the pipeline and the refusal kept: the request then goes only to targets that speak the Responses API.
 * `conversation` and `background` need OpenAI's own storage and are always refused.
 */
export function translateResponsesRequest(body: ResponsesRequest, opts: ResponsesTranslationOptions = {}): TranslatedResponses {
  const left = leaveOutHostedTools(body, opts.previous ?? []);
  try {
    return { request: responsesToChatRequest(left.body, { ...opts, previous: left.previous }), leftOut: left.leftOut };
  } catch (err) {
    const onlyPrompt = err instanceof ClientError && err.code === 'unsupported_parameter' && err.param === 'prompt';
    if (!(err instanceof ClientError) || !(OPENAI_ONLY_CODES.has(err.code) || onlyPrompt)) throw err;
    const request = responsesToChatRequest(translatablePart(left.body), { ...opts, previous: translatableItems(left.previous) });
    return { request, untranslatable: err, leftOut: left.leftOut };
  }
}

/**
 * Items an upstream cannot read back when it keeps no state: reasoning without encrypted content (only a stored
 * response could resolve it) or with Flow Router's token in it (state of another provider).
 */
function replayable(item: InputItem): boolean {
  if (item?.type !== 'reasoning') return true;
  return typeof item.encrypted_content === 'string' && item.encrypted_content !== '' && !isCarrierToken(item.encrypted_content);
}

/**
 * The body a Responses target is sent: the client's, stateless. Flow Router is the store, so the earlier turns it
 * kept come first in `input`, `previous_response_id` goes, and the upstream is asked to keep nothing (`store: false`).
 */
export function nativeResponsesBody(body: ResponsesRequest, previous: readonly InputItem[]): Record<string, unknown> {
  const { previous_response_id: _p, ...rest } = body;
  if (previous.length === 0 && !Array.isArray(body.input)) return { ...rest, store: false };
  const input = typeof body.input === 'string' ? [{ role: 'user' as const, content: body.input }] : (body.input ?? []);
  return { ...rest, input: [...previous, ...input].filter(replayable), store: false };
}

/** System text the pipeline added (RAG passages), after the client's own instructions. */
export function responsesWithSystemText(body: Record<string, unknown>, text: string): Record<string, unknown> {
  const instructions = body.instructions;
  return { ...body, instructions: typeof instructions === 'string' && instructions ? `${instructions}\n\n${text}` : text };
}
