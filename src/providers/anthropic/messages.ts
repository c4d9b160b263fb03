// OpenAI chat messages → Anthropic `system` + strictly alternating user/assistant messages with paired tool results.
import type { ChatMessage, ContentPart } from '../../core/openai.ts';
import { contentText } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import type { AnthropicImageBlock, AnthropicMessage, AnthropicRequestBlock, AnthropicTextBlock, AnthropicToolResultBlock } from './wire.ts';

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** An OpenAI image URL as an Anthropic image block: `data:` URLs inline as base64, http(s) by reference. */
export function imageBlock(url: string): AnthropicImageBlock {
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new ClientError('image_url must be an http(s) URL or a base64 data: URL', { param: 'messages' });
}

function partBlocks(content: string | ContentPart[] | null | undefined): (AnthropicTextBlock | AnthropicImageBlock)[] {
  if (content == null) return [];
  // Anthropic refuses empty text blocks, so empty strings simply produce no block.
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const out: (AnthropicTextBlock | AnthropicImageBlock)[] = [];
  for (const part of content) {
    if (part.type === 'text') { if (part.text) out.push({ type: 'text', text: part.text }); }
    else if (part.type === 'image_url') out.push(imageBlock(part.image_url.url));
  }
  return out;
}

function toolUseInput(call: NonNullable<ChatMessage['tool_calls']>[number]): unknown {
  const args = call.function.arguments;
  if (args == null || args.trim() === '') return {};
  try { return JSON.parse(args); } catch {
    throw new ClientError(`tool call ${call.id} (${call.function.name}) has arguments that are not valid JSON`, { param: 'messages' });
  }
}

function toolResult(msg: ChatMessage): AnthropicToolResultBlock {
  const content = typeof msg.content === 'string' || msg.content == null ? (msg.content ?? '') : partBlocks(msg.content);
  return { type: 'tool_result', tool_use_id: msg.tool_call_id!, content };
}

/** Appends blocks as one turn of `role`, merging into the previous turn when it has the same role. */
function pushTurn(out: { role: 'user' | 'assistant'; blocks: AnthropicRequestBlock[] }[], role: 'user' | 'assistant', blocks: AnthropicRequestBlock[]): void {
  if (blocks.length === 0) return;
  const last = out.at(-1);
  if (last && last.role === role) last.blocks.push(...blocks);
  else out.push({ role, blocks });
}

/**
 * Splits system/developer messages out into one `system` text and converts the rest. The tool messages answering one
 * assistant turn become a single user turn holding exactly one `tool_result` per `tool_use` id, in call order.
 */
export function toAnthropicMessages(messages: ChatMessage[]): { system?: string; messages: AnthropicMessage[] } {
  const system: string[] = [];
  const turns: { role: 'user' | 'assistant'; blocks: AnthropicRequestBlock[] }[] = [];
  let i = 0;
  while (i < messages.length) {
    const msg = messages[i];
    if (msg.role === 'system' || msg.role === 'developer') {
      const text = contentText(msg.content);
      if (text) system.push(text);
      i++;
    } else if (msg.role === 'user') {
      pushTurn(turns, 'user', partBlocks(msg.content));
      i++;
    } else if (msg.role === 'assistant') {
      const blocks: AnthropicRequestBlock[] = [];
      const text = contentText(msg.content);
      if (text) blocks.push({ type: 'text', text });
      for (const call of msg.tool_calls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolUseInput(call) });
      pushTurn(turns, 'assistant', blocks);
      i++;
      if (msg.tool_calls?.length) i = pairToolResults(messages, i, msg.tool_calls.map((c) => c.id), turns);
    } else if (msg.role === 'tool') {
      throw new ClientError(`tool message for ${msg.tool_call_id ?? '(no tool_call_id)'} does not follow an assistant message with that tool call`, { param: 'messages' });
    } else {
      throw new ClientError(`unsupported message role: ${String((msg as { role: unknown }).role)}`, { param: 'messages' });
    }
  }
  if (turns.length === 0) throw new ClientError('at least one user or assistant message is required', { param: 'messages' });
  return {
    ...(system.length ? { system: system.join('\n\n') } : {}),
    messages: turns.map((t) => ({
      role: t.role,
      content: t.blocks.length === 1 && t.blocks[0].type === 'text' ? t.blocks[0].text : t.blocks,
    })),
  };
}

/** Consumes the tool messages from `start` that answer `ids`; returns the index after them. */
function pairToolResults(messages: ChatMessage[], start: number, ids: string[], turns: { role: 'user' | 'assistant'; blocks: AnthropicRequestBlock[] }[]): number {
  const results = new Map<string, AnthropicToolResultBlock>();
  let i = start;
  for (; i < messages.length && messages[i].role === 'tool'; i++) {
    const msg = messages[i];
    const id = msg.tool_call_id ?? '';
    if (!ids.includes(id)) throw new ClientError(`tool message for ${id || '(no tool_call_id)'} answers no tool call of the preceding assistant message`, { param: 'messages' });
    if (results.has(id)) throw new ClientError(`tool call ${id} has more than one tool message`, { param: 'messages' });
    results.set(id, toolResult(msg));
  }
  const missing = ids.filter((id) => !results.has(id));
  if (missing.length) throw new ClientError(`tool call ${missing.join(', ')} has no tool message answering it`, { param: 'messages' });
  turns.push({ role: 'user', blocks: ids.map((id) => results.get(id)!) });
  return i;
}
