// The one internal shape: OpenAI chat-completions types that every provider translates to and from.
//
// Besides OpenAI's own fields it carries a few extensions, each an existing public convention, so that what one
// provider hands out can be handed back to it through any client API (docs/http-api.md, "Reasoning and caching"):
//   reasoning_content (DeepSeek/vLLM)       reasoning text, on assistant messages and stream deltas;
//   thinking_blocks (LiteLLM)               Anthropic thinking/redacted_thinking blocks verbatim, signatures included;
//   extra_content.google (Google's OpenAI   Gemini thought signatures, on tool calls (and the message for text parts);
//     compatibility layer)
//   cache_control (Anthropic, OpenRouter)   prompt-cache breakpoints on content parts and tools;
//   thinking, top_k (Anthropic)             request knobs OpenAI's chat API has no field for.
// A chat client's own body reaches OpenAI-format targets untouched; a body translated from another client API has
// these extensions removed first (see `flowrouter.inbound`).

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

/** Anthropic's prompt-cache breakpoint. */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export interface TextPart {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
  cache_control?: CacheControl;
}
/**
 * OpenAI's file part: `file_data` is a `data:<media type>;base64,` URL (bare base64 is read as a PDF). `file_url` is
 * an extension carrying a document by reference (Anthropic's URL sources, the Responses API's `input_file.file_url`).
 */
export interface FilePart {
  type: 'file';
  file: { file_data?: string; file_id?: string; filename?: string; file_url?: string };
  cache_control?: CacheControl;
}
export interface AudioPart {
  type: 'input_audio';
  input_audio: { data: string; format: 'wav' | 'mp3' };
}
export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}
export type ContentPart = TextPart | ImagePart | FilePart | AudioPart | RefusalPart;

/** Anthropic's thinking blocks, kept verbatim: Anthropic checks the signature when one is sent back. */
export type ThinkingBlock = { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

/** Opaque provider state, tagged by provider, as Google's OpenAI-compatible API carries thought signatures. */
export interface ExtraContent {
  google?: { thought_signature?: string };
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  extra_content?: ExtraContent;
}

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  /** Assistant history: the reasoning text that preceded this answer. */
  reasoning_content?: string | null;
  /** Assistant history: Anthropic thinking blocks to send back to Anthropic (they come before text and tool_use). */
  thinking_blocks?: ThinkingBlock[];
  /** Assistant history: a thought signature Gemini put on a text part. */
  extra_content?: ExtraContent;
  /** Tool results: the tool failed (Anthropic's `is_error`). */
  is_error?: boolean;
}

export interface FunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
  cache_control?: CacheControl;
}

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max';

/** Anthropic's extended-thinking switch, also accepted from chat clients (as LiteLLM does). */
export type ThinkingConfig =
  | { type: 'enabled'; budget_tokens: number; display?: 'summarized' | 'omitted' | null }
  | { type: 'adaptive'; display?: 'summarized' | 'omitted' | null }
  | { type: 'disabled' };

/** Flow Router's own per-request options; removed before the request goes upstream. */
export interface FlowRouterOptions {
  /**
   * Set by an inbound translator: the client API the request arrived in. Such a body is not the client's own
   * Chat Completions body, so OpenAI-format targets get it without the extension fields above.
   */
  inbound?: 'anthropic' | 'responses';
  [option: string]: unknown;
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string } };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  n?: number;
  stop?: string | string[];
  seed?: number;
  user?: string;
  presence_penalty?: number;
  frequency_penalty?: number;
  logit_bias?: Record<string, number>;
  logprobs?: boolean;
  top_logprobs?: number;
  tools?: FunctionTool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  metadata?: Record<string, string>;
  reasoning_effort?: ReasoningEffort;
  /** Extension: Anthropic's and Gemini's top-k sampling. */
  top_k?: number;
  /** Extension: Anthropic's extended thinking (Gemini gets a thinking budget from it). */
  thinking?: ThinkingConfig;
  flowrouter?: FlowRouterOptions;
  [extra: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/**
 * OpenAI's usage: `prompt_tokens` counts every input token, those read from the provider's prompt cache
 * (`cached_tokens`) and those written to it (`cache_write_tokens`) included; the rest were billed at the full price.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number; [k: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [k: string]: unknown };
}

/** An answer: OpenAI's assistant message plus the reasoning extensions (see the top of this file). */
export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
  refusal?: string | null;
  reasoning_content?: string;
  thinking_blocks?: ThinkingBlock[];
  extra_content?: ExtraContent;
}

export interface ChatChoice {
  index: number;
  message: AssistantMessage;
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
  extra_content?: ExtraContent;
}

/**
 * A stream delta. `reasoning_content` comes in pieces; each thinking block comes whole in `thinking_blocks` once it
 * ends (its text was already streamed as `reasoning_content`, its signature only arrives at its end).
 */
export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  tool_calls?: ToolCallDelta[];
  refusal?: string | null;
  reasoning_content?: string;
  thinking_blocks?: ThinkingBlock[];
  extra_content?: ExtraContent;
}

export interface ChunkChoice {
  index: number;
  delta: ChunkDelta;
  finish_reason: FinishReason | null;
  logprobs?: unknown;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface CompletionsRequest {
  model: string;
  prompt: string | string[];
  stream?: boolean;
  max_tokens?: number;
  temperature?: number;
  [extra: string]: unknown;
}

/** A legacy text completion, and also the shape of each of its stream chunks. */
export interface CompletionsResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: string | null; logprobs?: unknown }[];
  usage?: Usage | null;
  [extra: string]: unknown;
}

/** Text of a message's content, parts joined; images, files and audio omitted. */
export function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content) if (part.type === 'text') out += part.text;
  return out;
}

/** The prompt split into tokens billed at the full price, read from the provider's cache, and written to it. */
export function promptParts(usage: Pick<Usage, 'prompt_tokens' | 'prompt_tokens_details'>): { uncached: number; cacheRead: number; cacheWrite: number } {
  const cacheRead = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  return { uncached: Math.max(0, usage.prompt_tokens - cacheRead - cacheWrite), cacheRead, cacheWrite };
}
