// The Anthropic Messages API as clients speak it to Flow Router (checked against @anthropic-ai/sdk's types).
import type { CacheControl } from '../../core/openai.ts';

/** A content block as a client may send it: the fields read here, typed loosely because they come off the wire. */
export interface InboundBlock {
  type: string;
  text?: string;
  source?: { type?: string; media_type?: string; data?: string; url?: string; file_id?: string; content?: string | InboundBlock[] };
  title?: string | null;
  cache_control?: CacheControl | null;
  /** tool_use */
  id?: string;
  name?: string;
  input?: unknown;
  /** tool_result */
  tool_use_id?: string;
  content?: string | InboundBlock[];
  is_error?: boolean;
  /** thinking / redacted_thinking */
  thinking?: string;
  signature?: string;
  data?: string;
}

export interface InboundMessage {
  role: 'user' | 'assistant' | 'system';
  content: string | InboundBlock[];
}

export interface InboundTool {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  cache_control?: CacheControl | null;
  strict?: boolean;
  /** Absent or `custom` for a client tool; anything else names one of Anthropic's server or client-defined tools. */
  type?: string | null;
}

export type InboundToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface MessagesRequest {
  model: string;
  messages: InboundMessage[];
  max_tokens: number;
  system?: string | InboundBlock[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  tools?: InboundTool[];
  tool_choice?: InboundToolChoice;
  metadata?: { user_id?: string | null };
  thinking?:
    | { type: 'enabled'; budget_tokens: number; display?: 'summarized' | 'omitted' | null }
    | { type: 'adaptive'; display?: 'summarized' | 'omitted' | null }
    | { type: 'disabled' };
  output_config?: { effort?: string | null; format?: { type: 'json_schema'; schema: Record<string, unknown> } | null };
  [field: string]: unknown;
}

export type OutputBlock =
  | { type: 'text'; text: string; citations: null }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
}

/** The Message object (`type: "message"`) a JSON answer is. */
export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: OutputBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: MessageUsage;
}

/** One server-sent event: `event: <event>` and `data: <JSON of data>` (data carries `type` = event, as Anthropic's do). */
export interface AnthropicSseEvent {
  event: string;
  data: Record<string, unknown>;
}
