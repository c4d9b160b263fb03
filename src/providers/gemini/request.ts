// OpenAI chat request → Gemini generateContent request: contents with alternating roles, tools, generation config.
import type { ChatMessage, ChatRequest, ToolChoice } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import type { HttpRequestSpec, ProviderAccount, TranslationContext } from '../types.ts';
import { toGeminiSchema } from './schema.ts';
import { contentParts } from './parts.ts';
import { isGemini3OrLater, signUnsignedCalls, thinkingConfigOf } from './thinking.ts';
import type { GeminiContent, GeminiGenerationConfig, GeminiPart, GeminiRequest } from './wire.ts';

/** The key travels in a header only: a key in the URL would end up in proxy and access logs. */
export function geminiHeaders(account: ProviderAccount): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', ...account.headers };
  if (account.key) h['x-goog-api-key'] = account.key;
  return h;
}

/** `/models/{model}:{method}`; a model given as `models/x` is accepted too. */
export function geminiModelPath(model: string, method: string): string {
  return `/models/${encodeURIComponent(model.replace(/^models\//, ''))}:${method}`;
}

export function toGeminiRequest(req: ChatRequest, ctx: TranslationContext, account: ProviderAccount): HttpRequestSpec {
  const path = req.stream ? `${geminiModelPath(ctx.model, 'streamGenerateContent')}?alt=sse` : geminiModelPath(ctx.model, 'generateContent');
  return { method: 'POST', path, headers: geminiHeaders(account), body: toGeminiBody(req, ctx.model) };
}

/**
 * The generateContent body. `model` decides the thinking config's form and whether unsigned function calls get
 * Google's skip-validation signature (Gemini 3 refuses them); without it neither is added.
 */
export function toGeminiBody(req: ChatRequest, model?: string): GeminiRequest {
  const system: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  req.messages.forEach((msg, i) => {
    if (msg.role === 'system' || msg.role === 'developer') {
      const text = textOf(msg, i);
      if (text) system.push({ text });
      return;
    }
    const role = msg.role === 'assistant' ? 'model' : 'user';
    const parts =
      msg.role === 'tool'
        ? [functionResponsePart(msg, i, toolNames)]
        : msg.role === 'assistant'
          ? assistantParts(msg, i, toolNames)
          : contentParts(msg.content, i);
    if (parts.length === 0) return;
    const last = contents.at(-1);
    // Gemini wants user/model turns to alternate, so neighbours with one role become one turn.
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  });
  if (contents.length === 0) throw new ClientError('messages must contain at least one user, assistant or tool message', { param: 'messages' });
  if (model !== undefined && isGemini3OrLater(model)) signUnsignedCalls(contents);

  const body: GeminiRequest = { contents };
  if (system.length) body.systemInstruction = { parts: system };
  if (req.tools?.length) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => {
          const parameters = toGeminiSchema(t.function.parameters);
          // A function without parameters must omit them: Gemini rejects an OBJECT with no properties.
          const hasParams = parameters !== undefined && parameters.properties !== undefined;
          return { name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), ...(hasParams ? { parameters } : {}) };
        }),
      },
    ];
    if (req.tool_choice !== undefined) body.toolConfig = { functionCallingConfig: callingConfig(req.tool_choice) };
  }
  const generationConfig = toGenerationConfig(req);
  const thinkingConfig = model === undefined ? undefined : thinkingConfigOf(req, model);
  if (thinkingConfig) generationConfig.thinkingConfig = thinkingConfig;
  if (Object.keys(generationConfig).length) body.generationConfig = generationConfig;
  return body;
}

function callingConfig(choice: ToolChoice): NonNullable<GeminiRequest['toolConfig']>['functionCallingConfig'] {
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.function.name] };
}

function toGenerationConfig(req: ChatRequest): GeminiGenerationConfig {
  const g: GeminiGenerationConfig = {};
  if (req.temperature != null) {
    if (!(req.temperature >= 0 && req.temperature <= 2)) throw new ClientError('temperature must be between 0 and 2', { param: 'temperature' });
    g.temperature = req.temperature;
  }
  if (req.top_p != null) g.topP = req.top_p;
  if (req.top_k != null) g.topK = req.top_k;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) g.maxOutputTokens = max;
  if (req.stop != null) {
    const stops = typeof req.stop === 'string' ? [req.stop] : req.stop;
    if (stops.length) g.stopSequences = stops;
  }
  if (req.n != null && req.n !== 1) g.candidateCount = req.n;
  if (req.seed != null) g.seed = req.seed;
  if (req.presence_penalty != null) g.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) g.frequencyPenalty = req.frequency_penalty;
  const format = req.response_format;
  if (format?.type === 'json_object') g.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') {
    g.responseMimeType = 'application/json';
    const schema = toGeminiSchema(format.json_schema.schema);
    if (schema && Object.keys(schema).length) g.responseSchema = schema;
  }
  return g;
}

function textOf(msg: ChatMessage, i: number): string {
  if (msg.content == null || typeof msg.content === 'string') return msg.content ?? '';
  return msg.content
    .map((p) => {
      if (p.type !== 'text') throw new ClientError(`messages[${i}]: a ${msg.role} message may contain text only`, { param: `messages[${i}].content` });
      return p.text;
    })
    .join('');
}

/** Text, then function calls, each with the thought signature Gemini gave it (reasoning text is not sent back). */
function assistantParts(msg: ChatMessage, i: number, toolNames: Map<string, string>): GeminiPart[] {
  const parts = contentParts(msg.content, i);
  const textSignature = msg.extra_content?.google?.thought_signature;
  const lastText = parts.findLast((p) => p.text !== undefined);
  if (textSignature && lastText) lastText.thoughtSignature = textSignature;
  for (const [j, call] of (msg.tool_calls ?? []).entries()) {
    toolNames.set(call.id, call.function.name);
    const signature = call.extra_content?.google?.thought_signature;
    parts.push({
      functionCall: { name: call.function.name, args: parseArgs(call.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`) },
      ...(signature ? { thoughtSignature: signature } : {}),
    });
  }
  return parts;
}

function parseArgs(text: string, param: string): Record<string, unknown> {
  if (!text?.trim()) return {};
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch {
    throw new ClientError(`${param} is not valid JSON`, { param });
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new ClientError(`${param} must be a JSON object`, { param });
  return args as Record<string, unknown>;
}

function functionResponsePart(msg: ChatMessage, i: number, toolNames: Map<string, string>): GeminiPart {
  const name = msg.tool_call_id === undefined ? undefined : toolNames.get(msg.tool_call_id);
  if (name === undefined) {
    throw new ClientError(`messages[${i}].tool_call_id does not match a tool call of an earlier assistant message`, { param: `messages[${i}].tool_call_id` });
  }
  const text = textOf(msg, i);
  let result: unknown = text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) result = parsed;
  } catch {
    /* plain text result */
  }
  // Google's convention: a failed call's details under `error`.
  if (msg.is_error) return { functionResponse: { name, response: { error: result } } };
  return { functionResponse: { name, response: typeof result === 'string' ? { content: result } : (result as Record<string, unknown>) } };
}
