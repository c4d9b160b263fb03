// Responses input items → internal chat messages: messages, function calls grouped into one assistant turn, their
// outputs as tool messages, reasoning items as the turn's reasoning (and, when Flow Router packed it, provider state).
import type { ChatMessage, ContentPart, ToolCall } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import { unpackState, type CarriedState } from '../carrier.ts';
import type { InputItem, InputPart } from './wire.ts';

export function refuse(param: string, message: string, code = 'invalid_request'): ClientError {
  return new ClientError(`${param}: ${message}`, { param, code });
}

/** Resolves an `item_reference` (a stored item by id); the route supplies it where responses are stored. */
export type ItemResolver = (id: string) => InputItem | undefined;

function part(p: InputPart, param: string): ContentPart[] {
  if (!p || typeof p !== 'object') throw refuse(param, 'a content part must be an object');
  switch (p.type) {
    case 'input_text':
    case 'output_text':
      if (typeof p.text !== 'string') throw refuse(`${param}.text`, 'expected a string');
      return p.text ? [{ type: 'text', text: p.text }] : [];
    case 'refusal':
      return p.refusal ? [{ type: 'text', text: p.refusal }] : [];
    case 'input_image':
      if (typeof p.image_url === 'string' && p.image_url) {
        const detail = p.detail === 'low' || p.detail === 'high' || p.detail === 'auto' ? { detail: p.detail } : {};
        return [{ type: 'image_url', image_url: { url: p.image_url, ...detail } }];
      }
      throw refuse(
        param,
        p.file_id ? 'file_id names a file stored at OpenAI; send the image as image_url' : 'input_image needs image_url',
        'unsupported_content',
      );
    case 'input_file': {
      const name = p.filename ? { filename: p.filename } : {};
      if (typeof p.file_data === 'string') return [{ type: 'file', file: { file_data: p.file_data, ...name } }];
      if (typeof p.file_url === 'string') return [{ type: 'file', file: { file_url: p.file_url, ...name } }];
      if (typeof p.file_id === 'string') return [{ type: 'file', file: { file_id: p.file_id, ...name } }];
      throw refuse(param, 'input_file needs file_data, file_url or file_id');
    }
    default:
      throw refuse(
        `${param}.type`,
        `${String(p.type)} content cannot be translated (supported: input_text, input_image, input_file, output_text, refusal)`,
        'unsupported_content',
      );
  }
}

function contentOf(content: InputItem['content'] | InputItem['output'], param: string): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw refuse(param, 'expected a string or a list of content parts');
  const parts = content.flatMap((p, k) => part(p, `${param}[${k}]`));
  return parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

/** Builds the assistant turn that reasoning, text and function calls make together, until another item ends it. */
class Turn {
  readonly msg: ChatMessage = { role: 'assistant', content: null };
  private state: CarriedState = {};

  get hasCalls(): boolean {
    return (this.msg.tool_calls?.length ?? 0) > 0;
  }

  reasoning(item: InputItem): void {
    const text = (item.summary ?? []).map((s) => s?.text ?? '').join('');
    if (text) this.msg.reasoning_content = (this.msg.reasoning_content ?? '') + text;
    const state = typeof item.encrypted_content === 'string' ? unpackState(item.encrypted_content) : null;
    if (state) {
      if (state.thinking_blocks?.length) this.msg.thinking_blocks = [...(this.msg.thinking_blocks ?? []), ...state.thinking_blocks];
      this.state = { ...this.state, ...state, google_calls: { ...this.state.google_calls, ...state.google_calls } };
    }
  }

  text(content: string | ContentPart[]): void {
    const text = typeof content === 'string' ? content : content.map((p) => (p.type === 'text' ? p.text : '')).join('');
    this.msg.content = (this.msg.content ?? '') + text;
  }

  call(call: ToolCall): void {
    (this.msg.tool_calls ??= []).push(call);
  }

  /** The finished message, Gemini signatures put back on the calls they belong to. */
  done(): ChatMessage {
    for (const c of this.msg.tool_calls ?? []) {
      const signature = this.state.google_calls?.[c.id];
      if (signature) c.extra_content = { google: { thought_signature: signature } };
    }
    if (this.state.google_text) this.msg.extra_content = { google: { thought_signature: this.state.google_text } };
    if (this.msg.content === null && !this.hasCalls) this.msg.content = '';
    return this.msg;
  }
}

/** The input (after any earlier turns the caller supplies) as chat messages. */
export function toChatMessages(input: string | InputItem[], resolve?: ItemResolver): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw refuse('input', 'expected a string or a list of items');
  const out: ChatMessage[] = [];
  let turn: Turn | null = null;
  const flush = () => {
    if (turn) out.push(turn.done());
    turn = null;
  };
  const assistant = () => (turn ??= new Turn());

  input.forEach((raw, i) => {
    const param = `input[${i}]`;
    let item = raw;
    if (item?.type === 'item_reference') {
      const found = typeof item.id === 'string' ? resolve?.(item.id) : undefined;
      if (!found) throw refuse(`${param}.id`, `no stored item ${String(item.id)} to refer to`);
      item = found;
    }
    if (!item || typeof item !== 'object') throw refuse(param, 'an input item must be an object');
    const type = item.type ?? (item.role ? 'message' : undefined);
    if (type === 'message') {
      const content = contentOf(item.content, `${param}.content`);
      if (item.role === 'assistant') {
        if (turn?.hasCalls) flush();
        assistant().text(content);
      } else if (item.role === 'user' || item.role === 'system' || item.role === 'developer') {
        flush();
        out.push({ role: item.role, content });
      } else throw refuse(`${param}.role`, "expected 'user', 'assistant', 'system' or 'developer'");
    } else if (type === 'reasoning') {
      if (turn?.hasCalls) flush();
      assistant().reasoning(item);
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw refuse(param, 'a function_call needs call_id and name');
      assistant().call({
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' },
      });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw refuse(`${param}.call_id`, 'expected a string');
      flush();
      out.push({ role: 'tool', tool_call_id: item.call_id, content: contentOf(item.output ?? '', `${param}.output`) });
    } else {
      throw refuse(
        `${param}.type`,
        `${String(type)} items cannot be translated (supported: message, function_call, function_call_output, reasoning, item_reference)`,
        'unsupported_content',
      );
    }
  });
  flush();
  return out;
}
