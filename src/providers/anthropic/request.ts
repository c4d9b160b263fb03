// OpenAI chat request → Anthropic Messages API request (`POST /messages`), as pure data.
import type { ChatRequest, FunctionTool, ToolChoice } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import type { HttpRequestSpec, ProviderAccount, TranslationContext } from '../types.ts';
import type { AnthropicRequest, AnthropicTool, AnthropicToolChoice } from './wire.ts';
import { toAnthropicMessages } from './messages.ts';

export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * `max_tokens` is mandatory on Anthropic but optional in OpenAI, so a request without one gets the model family's
 * maximum output. Keys are model-name prefixes; the longest matching prefix wins (dated and `-latest` names match).
 */
export const DEFAULT_MAX_TOKENS: Readonly<Record<string, number>> = {
  'claude-3-opus': 4096,
  'claude-3-sonnet': 4096,
  'claude-3-haiku': 4096,
  'claude-3-5-sonnet': 8192,
  'claude-3-5-haiku': 8192,
  'claude-3-7-sonnet': 64000,
  'claude-sonnet-4': 64000,
  'claude-opus-4': 32000,
  'claude-opus-4-5': 64000,
  'claude-haiku-4-5': 64000,
};
export const FALLBACK_MAX_TOKENS = 4096;

export function defaultMaxTokens(model: string): number {
  let best = '';
  for (const prefix of Object.keys(DEFAULT_MAX_TOKENS)) if (model.startsWith(prefix) && prefix.length > best.length) best = prefix;
  return best ? DEFAULT_MAX_TOKENS[best] : FALLBACK_MAX_TOKENS;
}

/**
 * Anthropic has no JSON mode, so `response_format` json_schema/json_object becomes a tool the model is made to call,
 * and the tool's input is handed back to the client as the message content (a JSON string). The tool has a reserved
 * name because the response translation (which does not see the request) recognises it by that name alone.
 */
export const JSON_RESPONSE_TOOL = 'flowrouter_json_response';

export function jsonResponseTool(req: ChatRequest): AnthropicTool | null {
  const rf = req.response_format;
  if (!rf || rf.type === 'text') return null;
  const describe = 'Give your final answer by calling this tool; its input is the JSON response.';
  if (rf.type === 'json_object') return { name: JSON_RESPONSE_TOOL, description: describe, input_schema: { type: 'object', additionalProperties: true } };
  const schema = rf.json_schema.schema ?? { type: 'object', additionalProperties: true };
  if (schema.type !== 'object') throw new ClientError('anthropic targets only support response_format json_schema with an object schema', { param: 'response_format' });
  const about = [rf.json_schema.name, rf.json_schema.description].filter(Boolean).join(': ');
  return { name: JSON_RESPONSE_TOOL, description: about ? `${describe} Schema ${about}` : describe, input_schema: schema };
}

function toAnthropicTool(tool: FunctionTool): AnthropicTool {
  const f = tool.function;
  return { name: f.name, ...(f.description ? { description: f.description } : {}), input_schema: f.parameters ?? { type: 'object', properties: {} } };
}

function baseToolChoice(choice: ToolChoice | undefined): AnthropicToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name };
}

/** Tools and tool_choice, with the JSON-response tool folded in when the client asked for JSON. */
function toolsAndChoice(req: ChatRequest): Pick<AnthropicRequest, 'tools' | 'tool_choice'> {
  const tools = (req.tools ?? []).map(toAnthropicTool);
  if (tools.some((t) => t.name === JSON_RESPONSE_TOOL)) throw new ClientError(`the tool name ${JSON_RESPONSE_TOOL} is reserved by Flow Router`, { param: 'tools' });
  const jsonTool = jsonResponseTool(req);
  let choice = baseToolChoice(req.tool_choice);
  if (jsonTool) {
    // Without client tools (or with them switched off) the answer must be the JSON tool; with them, any tool call is
    // fine: either the client's tool or the final JSON answer. A named tool_choice still forces the client's tool.
    if (choice?.type !== 'tool') choice = tools.length === 0 || choice?.type === 'none' ? { type: 'tool', name: jsonTool.name } : { type: 'any' };
    tools.push(jsonTool);
  }
  if (tools.length === 0) return {}; // Anthropic refuses tool_choice without tools.
  if (req.parallel_tool_calls === false) {
    choice ??= { type: 'auto' };
    if (choice.type !== 'none') choice = { ...choice, disable_parallel_tool_use: true };
  }
  return { tools, ...(choice ? { tool_choice: choice } : {}) };
}

/** The Anthropic request body. Unsupported OpenAI sampling knobs (seed, penalties, logit_bias, logprobs) are dropped. */
export function toAnthropicBody(req: ChatRequest, model: string): AnthropicRequest {
  if (req.n != null && req.n > 1) throw new ClientError('anthropic targets do not support n > 1', { param: 'n', code: 'unsupported_parameter' });
  const { system, messages } = toAnthropicMessages(req.messages);
  const body: AnthropicRequest = {
    model,
    messages,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens(model),
  };
  if (system) body.system = system;
  // OpenAI allows temperature up to 2; Anthropic's range is 0..1.
  if (req.temperature != null) body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.top_p != null) body.top_p = req.top_p;
  if (req.stop != null) {
    const stops = (Array.isArray(req.stop) ? req.stop : [req.stop]).filter((s) => s !== '');
    if (stops.length) body.stop_sequences = stops;
  }
  if (req.stream) body.stream = true;
  Object.assign(body, toolsAndChoice(req));
  if (req.user) body.metadata = { user_id: req.user };
  return body;
}

export function anthropicHeaders(account: ProviderAccount): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': account.apiVersion ?? DEFAULT_ANTHROPIC_VERSION,
    ...account.headers,
  };
  if (account.key) h['x-api-key'] = account.key;
  return h;
}

export function toAnthropicRequest(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  return { method: 'POST', path: '/messages', headers: anthropicHeaders(account), body: toAnthropicBody(req, ctx.model) };
}
