// An OpenAI Responses request → the internal chat request, as pure data; earlier turns come from the caller as items.
import type { ChatRequest, FunctionTool, ReasoningEffort, ResponseFormat, ToolChoice } from '../../core/openai.ts';
import { refuse, toChatMessages, type ItemResolver } from './input.ts';
import type { FunctionToolParam, InputItem, ResponsesRequest, TextFormat, ToolChoiceParam } from './wire.ts';

/**
 * Fields that need OpenAI's own servers (server-side conversations, prompt templates, background runs): refused when
 * the request is translated. Other fields this translation does not name (service_tier, prompt_cache_key,
 * truncation, top_logprobs, text.verbosity, reasoning.summary, …) are hints and are ignored.
 */
export const OPENAI_ONLY_FIELDS = ['conversation', 'prompt', 'background'] as const;

const EFFORTS: readonly string[] = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function toolOf(t: FunctionToolParam, i: number): FunctionTool {
  const param = `tools[${i}]`;
  if (!isObject(t)) throw refuse(param, 'expected an object');
  if (t.type !== 'function')
    throw refuse(`${param}.type`, `${String(t.type)} tools run only at OpenAI; translated requests take function tools`, 'unsupported_tool');
  if (typeof t.name !== 'string' || !t.name) throw refuse(`${param}.name`, 'expected a non-empty string');
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      ...(t.parameters ? { parameters: t.parameters } : {}),
      ...(t.strict != null ? { strict: t.strict } : {}),
    },
  };
}

/** tool_choice; `allowed_tools` narrows the tool list to the ones it names. */
function toolChoiceOf(choice: ToolChoiceParam, tools: FunctionTool[]): { tool_choice: ToolChoice; tools: FunctionTool[] } {
  if (choice === 'none' || choice === 'auto' || choice === 'required') return { tool_choice: choice, tools };
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string')
    return { tool_choice: { type: 'function', function: { name: choice.name } }, tools };
  if (isObject(choice) && choice.type === 'allowed_tools' && Array.isArray(choice.tools)) {
    const names = new Set((choice.tools as { name?: string }[]).map((t) => t?.name));
    return { tool_choice: choice.mode === 'required' ? 'required' : 'auto', tools: tools.filter((t) => names.has(t.function.name)) };
  }
  throw refuse('tool_choice', 'expected none, auto, required, a function or allowed_tools (other tool types run only at OpenAI)', 'unsupported_tool');
}

function formatOf(f: TextFormat): ResponseFormat | undefined {
  if (!isObject(f) || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type === 'json_schema' && typeof f.name === 'string' && isObject(f.schema)) {
    return {
      type: 'json_schema',
      json_schema: {
        name: f.name,
        schema: f.schema,
        ...(f.strict != null ? { strict: f.strict } : {}),
        ...(f.description ? { description: f.description } : {}),
      },
    };
  }
  throw refuse('text.format', 'expected {type: text}, {type: json_object} or {type: json_schema, name, schema}');
}

export interface ResponsesTranslationOptions {
  /** Items of earlier turns (the stored input and output of `previous_response_id`), put before `input`. */
  previous?: InputItem[];
  /** Looks up `item_reference` items. */
  resolveItem?: ItemResolver;
}

function checkShape(body: ResponsesRequest): void {
  if (!isObject(body)) throw refuse('(body)', 'the request body must be a JSON object');
  if (typeof body.model !== 'string' || !body.model) throw refuse('model', 'expected a non-empty string');
  if (body.input === undefined && !body.previous_response_id) throw refuse('input', 'expected a string or a list of items');
  if (body.instructions != null && typeof body.instructions !== 'string') throw refuse('instructions', 'expected a string');
  if (body.max_output_tokens != null && !(Number.isInteger(body.max_output_tokens) && body.max_output_tokens >= 1))
    throw refuse('max_output_tokens', 'expected a positive integer');
  if (body.tools != null && !Array.isArray(body.tools)) throw refuse('tools', 'expected a list');
  for (const field of OPENAI_ONLY_FIELDS) {
    if (body[field] != null && body[field] !== false) throw refuse(field, "needs OpenAI's own servers and cannot be translated", 'unsupported_parameter');
  }
  const effort = body.reasoning?.effort;
  if (effort != null && !EFFORTS.includes(effort)) throw refuse('reasoning.effort', `expected one of ${EFFORTS.join(', ')}`);
}

/**
 * The internal request: instructions first (as system), the earlier turns, then the input. `max_output_tokens`
 * becomes `max_completion_tokens`; a stream always asks for usage (response.completed reports it).
 */
export function responsesToChatRequest(body: ResponsesRequest, opts: ResponsesTranslationOptions = {}): ChatRequest {
  checkShape(body);
  const items: InputItem[] = [
    ...(opts.previous ?? []),
    ...(typeof body.input === 'string' ? [{ role: 'user' as const, content: body.input }] : (body.input ?? [])),
  ];
  const messages = toChatMessages(items, opts.resolveItem);
  if (body.instructions) messages.unshift({ role: 'system', content: body.instructions });
  if (messages.length === 0) throw refuse('input', 'there is nothing to answer');
  const req: ChatRequest = { model: body.model, messages, flowrouter: { inbound: 'responses' } };
  if (body.max_output_tokens != null) req.max_completion_tokens = body.max_output_tokens;
  if (body.temperature != null) req.temperature = body.temperature;
  if (body.top_p != null) req.top_p = body.top_p;
  if (body.parallel_tool_calls != null) req.parallel_tool_calls = body.parallel_tool_calls;
  let tools = (body.tools ?? []).map(toolOf);
  if (body.tool_choice != null) {
    const chosen = toolChoiceOf(body.tool_choice, tools);
    tools = chosen.tools;
    if (tools.length || chosen.tool_choice === 'none') req.tool_choice = chosen.tool_choice;
  }
  if (tools.length) req.tools = tools;
  const format = body.text?.format ? formatOf(body.text.format) : undefined;
  if (format) req.response_format = format;
  if (body.reasoning?.effort) req.reasoning_effort = body.reasoning.effort as ReasoningEffort;
  const user = body.user || body.safety_identifier;
  if (user) req.user = user;
  if (isObject(body.metadata)) req.metadata = body.metadata as Record<string, string>;
  if (body.stream === true) {
    req.stream = true;
    req.stream_options = { include_usage: true };
  }
  return req;
}
