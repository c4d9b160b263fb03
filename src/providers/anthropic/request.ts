// OpenAI chat request → Anthropic Messages API request (`POST /messages`), as pure data.
import type { ChatRequest, FunctionTool, ReasoningEffort, ToolChoice } from '../../core/openai.ts';
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
  if (schema.type !== 'object')
    throw new ClientError('anthropic targets only support response_format json_schema with an object schema', { param: 'response_format' });
  const about = [rf.json_schema.name, rf.json_schema.description].filter(Boolean).join(': ');
  return { name: JSON_RESPONSE_TOOL, description: about ? `${describe} Schema ${about}` : describe, input_schema: schema };
}

function toAnthropicTool(tool: FunctionTool): AnthropicTool {
  const f = tool.function;
  return {
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    input_schema: f.parameters ?? { type: 'object', properties: {} },
    ...(tool.cache_control ? { cache_control: tool.cache_control } : {}),
  };
}

/** Thinking budgets for OpenAI's `reasoning_effort` (LiteLLM's figures, above Anthropic's 1024 minimum). */
export const EFFORT_BUDGETS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 2048,
  high: 4096,
  xhigh: 8192,
  max: 16384,
};

/** Anthropic's thinking setting: the client's own, else one made from `reasoning_effort` that fits under max_tokens. */
export function thinkingOf(req: ChatRequest, maxTokens: number): AnthropicRequest['thinking'] {
  if (req.thinking) return req.thinking;
  const effort = req.reasoning_effort;
  if (!effort || effort === 'none') return undefined;
  const budget = Math.min(EFFORT_BUDGETS[effort] ?? EFFORT_BUDGETS.medium, maxTokens - 1);
  return budget >= 1024 ? { type: 'enabled', budget_tokens: budget } : undefined;
}

function baseToolChoice(choice: ToolChoice | undefined): AnthropicToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name };
}

/** Tools and tool_choice, with the JSON-response tool folded in when the client asked for JSON. */
function toolsAndChoice(req: ChatRequest, thinking: boolean): Pick<AnthropicRequest, 'tools' | 'tool_choice'> {
  const tools = (req.tools ?? []).map(toAnthropicTool);
  if (tools.some((t) => t.name === JSON_RESPONSE_TOOL))
    throw new ClientError(`the tool name ${JSON_RESPONSE_TOOL} is reserved by Flow Router`, { param: 'tools' });
  const jsonTool = jsonResponseTool(req);
  let choice = baseToolChoice(req.tool_choice);
  if (jsonTool) {
    // Without client tools (or with them switched off) the answer must be the JSON tool; with them, any tool call is
    // fine: either the client's tool or the final JSON answer. A named tool_choice still forces the client's tool.
    if (choice?.type !== 'tool') choice = tools.length === 0 || choice?.type === 'none' ? { type: 'tool', name: jsonTool.name } : { type: 'any' };
    tools.push(jsonTool);
  }
  if (tools.length === 0) return {}; // Anthropic refuses tool_choice without tools.
  // With thinking on, Anthropic refuses a forced tool choice: the model may still choose the tool.
  if (thinking && (choice?.type === 'any' || choice?.type === 'tool')) choice = { type: 'auto' };
  if (req.parallel_tool_calls === false) {
    choice ??= { type: 'auto' };
    if (choice.type !== 'none') choice = { ...choice, disable_parallel_tool_use: true };
  }
  return { tools, ...(choice ? { tool_choice: choice } : {}) };
}

/**
 * The Anthropic request body. Unsupported OpenAI sampling knobs (seed, penalties, logit_bias, logprobs) are dropped.
 * With thinking on, Anthropic accepts only temperature 1, top_p ≥ 0.95 and no top_k, so other values are left out.
 */
export function toAnthropicBody(req: ChatRequest, model: string): AnthropicRequest {
  if (req.n != null && req.n > 1) throw new ClientError('anthropic targets do not support n > 1', { param: 'n', code: 'unsupported_parameter' });
  const { system, messages } = toAnthropicMessages(req.messages);
  const body: AnthropicRequest = {
    model,
    messages,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens(model),
  };
  if (system) body.system = system;
  const thinking = thinkingOf(req, body.max_tokens);
  const thinkingOn = thinking !== undefined && thinking.type !== 'disabled';
  if (thinking) body.thinking = thinking;
  // OpenAI allows temperature up to 2; Anthropic's range is 0..1.
  if (req.temperature != null && (!thinkingOn || req.temperature === 1)) body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.top_p != null && (!thinkingOn || req.top_p >= 0.95)) body.top_p = req.top_p;
  if (req.top_k != null && !thinkingOn) body.top_k = req.top_k;
  if (req.stop != null) {
    const stops = (Array.isArray(req.stop) ? req.stop : [req.stop]).filter((s) => s !== '');
    if (stops.length) body.stop_sequences = stops;
  }
  if (req.stream) body.stream = true;
  Object.assign(body, toolsAndChoice(req, thinkingOn));
  if (req.user) body.metadata = { user_id: req.user };
  return body;
}

/**
 * A path under the account's base URL, which may end in `/v1` (Anthropic's own) or not (how Anthropic-compatible
 * services document theirs): `/messages` or `/v1/messages`.
 */
export function anthropicPath(account: ProviderAccount, op: string): string {
  return account.baseUrl && !/\/v1\/*$/.test(account.baseUrl) ? `/v1${op}` : op;
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
  return { method: 'POST', path: anthropicPath(account, '/messages'), headers: anthropicHeaders(account), body: toAnthropicBody(req, ctx.model) };
}

/**
 * `POST /messages/count_tokens` for a request: the Messages body without what the endpoint does not take
 * (max_tokens, sampling, stop sequences, stream, metadata). Its answer is `{input_tokens}`.
 */
export function toAnthropicCountTokensRequest(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  const { model, messages, system, tools, tool_choice, thinking } = toAnthropicBody({ ...req, stream: false }, ctx.model);
  const body = {
    model,
    messages,
    ...(system ? { system } : {}),
    ...(tools ? { tools } : {}),
    ...(tool_choice ? { tool_choice } : {}),
    ...(thinking ? { thinking } : {}),
  };
  return { method: 'POST', path: anthropicPath(account, '/messages/count_tokens'), headers: anthropicHeaders(account), body };
}
