// An Anthropic Messages request → the internal chat request, as pure data (the route then sends it to any provider).
import type { ChatRequest, FunctionTool, ResponseFormat, ThinkingConfig, ToolChoice } from '../../core/openai.ts';
import { refuse } from './blocks.ts';
import { toChatMessages } from './messages.ts';
import type { InboundTool, InboundToolChoice, MessagesRequest } from './wire.ts';

/**
 * Fields that need Anthropic's own servers (code containers, MCP connectors): refused when the request is translated.
 * Fields this list and the translation below do not name are hints (service_tier, inference_geo, speed,
 * output_config.effort, context_management, …) and are ignored; a passthrough to Anthropic keeps them all.
 * `context_management` only ever asks Anthropic to drop old context server-side (Claude Code sends it on every
 * request): a target that gets the whole history has not lost anything the client said.
 */
export const ANTHROPIC_ONLY_FIELDS = ['container', 'mcp_servers'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function toolOf(t: InboundTool, i: number): FunctionTool {
  const param = `tools.${i}`;
  if (!isObject(t)) throw refuse(param, 'Input should be a valid dictionary');
  if (t.type != null && t.type !== 'custom') {
    throw refuse(`${param}.type`, `${t.type} is one of Anthropic's own tools and runs only when the request goes to Anthropic unchanged`, 'unsupported_tool');
  }
  if (typeof t.name !== 'string' || !t.name) throw refuse(`${param}.name`, 'Field required');
  if (!isObject(t.input_schema)) throw refuse(`${param}.input_schema`, 'Field required');
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      parameters: t.input_schema,
      ...(t.strict != null ? { strict: t.strict } : {}),
    },
    ...(t.cache_control ? { cache_control: t.cache_control } : {}),
  };
}

function toolChoiceOf(c: InboundToolChoice): { tool_choice: ToolChoice; parallel_tool_calls?: false } {
  if (!isObject(c)) throw refuse('tool_choice', 'Input should be a valid dictionary');
  const parallel = 'disable_parallel_tool_use' in c && c.disable_parallel_tool_use ? { parallel_tool_calls: false as const } : {};
  switch (c.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'none':
      return { tool_choice: 'none' };
    case 'tool':
      if (typeof c.name !== 'string' || !c.name) throw refuse('tool_choice.name', 'Field required');
      return { tool_choice: { type: 'function', function: { name: c.name } }, ...parallel };
    default:
      throw refuse('tool_choice.type', "Input should be 'auto', 'any', 'tool' or 'none'");
  }
}

function thinkingOf(t: unknown): ThinkingConfig {
  if (!isObject(t)) throw refuse('thinking', 'Input should be a valid dictionary');
  if (t.type === 'enabled') {
    if (!Number.isInteger(t.budget_tokens) || (t.budget_tokens as number) < 1024)
      throw refuse('thinking.budget_tokens', 'Input should be an integer of at least 1024');
    return t as ThinkingConfig;
  }
  if (t.type === 'adaptive' || t.type === 'disabled') return t as ThinkingConfig;
  throw refuse('thinking.type', "Input should be 'enabled', 'adaptive' or 'disabled'");
}

/** Checks the top-level fields every translation needs, with Anthropic's paths in the messages. */
function checkShape(body: MessagesRequest): void {
  if (!isObject(body)) throw refuse('(body)', 'the request body must be a JSON object');
  if (typeof body.model !== 'string' || !body.model) throw refuse('model', 'Field required');
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) throw refuse('max_tokens', 'Input should be a positive integer');
  for (const k of ['temperature', 'top_p'] as const) {
    if (body[k] != null && !(isNumber(body[k]) && body[k] >= 0 && body[k] <= 1)) throw refuse(k, 'Input should be a number between 0 and 1');
  }
  if (body.top_k != null && !(Number.isInteger(body.top_k) && body.top_k >= 0)) throw refuse('top_k', 'Input should be a non-negative integer');
  if (body.stop_sequences != null && !(Array.isArray(body.stop_sequences) && body.stop_sequences.every((s) => typeof s === 'string')))
    throw refuse('stop_sequences', 'Input should be a valid list of strings');
  if (body.tools != null && !Array.isArray(body.tools)) throw refuse('tools', 'Input should be a valid list');
  for (const field of ANTHROPIC_ONLY_FIELDS) {
    if (body[field] != null)
      throw refuse(field, "needs Anthropic's own servers and is kept only when the request goes to Anthropic unchanged", 'unsupported_parameter');
  }
}

/** Whether the client asked to see thinking (the answer then shows reasoning as thinking blocks). */
export function wantsThinking(body: Pick<MessagesRequest, 'thinking'>): boolean {
  return body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive';
}

/**
 * The internal request. `max_tokens` becomes `max_completion_tokens` (the field OpenAI's reasoning models take), a
 * stream always asks for usage (the final `message_delta` reports it), and the body is marked as translated.
 */
export function anthropicToChatRequest(body: MessagesRequest): ChatRequest {
  checkShape(body);
  const req: ChatRequest = {
    model: body.model,
    messages: toChatMessages(body.system, body.messages),
    max_completion_tokens: body.max_tokens,
    flowrouter: { inbound: 'anthropic' },
  };
  if (body.temperature != null) req.temperature = body.temperature;
  if (body.top_p != null) req.top_p = body.top_p;
  if (body.top_k != null) req.top_k = body.top_k;
  if (body.stop_sequences?.length) req.stop = body.stop_sequences;
  if (body.tools?.length) req.tools = body.tools.map(toolOf);
  if (body.tool_choice != null) Object.assign(req, toolChoiceOf(body.tool_choice));
  if (body.thinking != null) req.thinking = thinkingOf(body.thinking);
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string' && body.metadata.user_id) req.user = body.metadata.user_id;
  const format = body.output_config?.format;
  if (format != null) {
    if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema))
      throw refuse('output_config.format', "Input should be {type: 'json_schema', schema}");
    req.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: format.schema, strict: true } } satisfies ResponseFormat;
  }
  if (body.stream === true) {
    req.stream = true;
    req.stream_options = { include_usage: true };
  }
  return req;
}
