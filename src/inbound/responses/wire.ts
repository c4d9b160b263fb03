// The OpenAI Responses API as clients speak it to Flow Router (checked against the openai SDK's types).

/** A content part of an input message, typed loosely: it comes off the wire. */
export interface InputPart {
  type: string;
  text?: string;
  image_url?: string | null;
  file_id?: string | null;
  file_data?: string;
  file_url?: string;
  filename?: string;
  detail?: 'auto' | 'low' | 'high' | 'original';
  refusal?: string;
}

/** An input item: a message (with or without `type`), a function call or its output, a reasoning item, a reference. */
export interface InputItem {
  type?: string;
  id?: string | null;
  role?: 'user' | 'assistant' | 'system' | 'developer';
  content?: string | InputPart[];
  /** function_call / function_call_output */
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string | InputPart[];
  /** reasoning */
  summary?: { type: string; text: string }[];
  encrypted_content?: string | null;
  status?: string;
}

export interface FunctionToolParam {
  type: string;
  name?: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

export type ToolChoiceParam =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; name: string }
  | { type: 'allowed_tools'; mode: 'auto' | 'required'; tools: { type: string; name?: string }[] }
  | { type: string; [k: string]: unknown };

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean | null; description?: string };

export interface ResponsesRequest {
  model: string;
  input?: string | InputItem[];
  instructions?: string | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  parallel_tool_calls?: boolean | null;
  tools?: FunctionToolParam[];
  tool_choice?: ToolChoiceParam;
  text?: { format?: TextFormat; verbosity?: string | null };
  reasoning?: { effort?: string | null; summary?: string | null } | null;
  metadata?: Record<string, string> | null;
  user?: string;
  safety_identifier?: string | null;
  stream?: boolean | null;
  store?: boolean | null;
  previous_response_id?: string | null;
  include?: string[] | null;
  truncation?: 'auto' | 'disabled' | null;
  [field: string]: unknown;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}
export interface OutputRefusal {
  type: 'refusal';
  refusal: string;
}

export type OutputItem =
  | {
      type: 'reasoning';
      id: string;
      summary: { type: 'summary_text'; text: string }[];
      encrypted_content?: string;
      status?: 'in_progress' | 'completed' | 'incomplete';
    }
  | { type: 'message'; id: string; role: 'assistant'; status: 'in_progress' | 'completed' | 'incomplete'; content: (OutputText | OutputRefusal)[] }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' | 'incomplete' };

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'completed' | 'incomplete' | 'in_progress' | 'failed';

/** The Response object (`object: "response"`). */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number;
  text: { format: TextFormat };
  tool_choice: ToolChoiceParam;
  tools: FunctionToolParam[];
  top_p: number;
  truncation: 'auto' | 'disabled';
  usage: ResponseUsage | null;
  user: string | null;
  metadata: Record<string, string>;
}

/** One server-sent event: `event: <type>` and `data: <JSON>` (data carries `type` and `sequence_number`). */
export interface ResponsesSseEvent {
  event: string;
  data: Record<string, unknown>;
}
