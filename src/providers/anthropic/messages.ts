// OpenAI chat messages → Anthropic `system` + strictly alternating user/assistant messages with paired tool results.
import type { ChatMessage, ContentPart, FilePart, TextPart } from '../../core/openai.ts';
import { contentText } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import { fileData, parseDataUrl } from '../../core/data-url.ts';
import type {
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicRequestBlock,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
} from './wire.ts';

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

type UserBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock;

/** An OpenAI image URL as an Anthropic image block: `data:` URLs inline as base64, http(s) by reference. */
export function imageBlock(url: string, param = 'messages'): AnthropicImageBlock {
  const data = parseDataUrl(url);
  if (data && !IMAGE_TYPES.has(data.mediaType))
    throw new ClientError(`${param}: anthropic targets read images of type image/{jpeg,png,gif,webp}, not ${data.mediaType}`, {
      param,
      code: 'unsupported_content',
    });
  if (data) return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new ClientError(`${param}: image_url must be an http(s) URL or a base64 data: URL`, { param });
}

/** A file part as a document block (PDF or plain text) or, for an image file, an image block. */
export function documentBlock(file: FilePart['file'], param: string): AnthropicDocumentBlock | AnthropicImageBlock {
  const title = file.filename ? { title: file.filename } : {};
  if (file.file_url !== undefined) {
    if (!/^https?:\/\//i.test(file.file_url)) throw new ClientError(`${param}: file_url must be an http(s) URL`, { param });
    return { type: 'document', source: { type: 'url', url: file.file_url }, ...title };
  }
  if (file.file_data === undefined) {
    throw new ClientError(`${param}: anthropic targets need the file's content in file_data (a file_id names a file stored at OpenAI)`, {
      param,
      code: 'unsupported_content',
    });
  }
  const { mediaType, data } = fileData(file.file_data, file.filename);
  if (mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data }, ...title };
  // Anthropic reads plain text only as text/plain; any text/* file is plain text to the model.
  if (mediaType.startsWith('text/'))
    return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: Buffer.from(data, 'base64').toString('utf8') }, ...title };
  if (IMAGE_TYPES.has(mediaType)) return { type: 'image', source: { type: 'base64', media_type: mediaType, data } };
  throw new ClientError(`${param}: anthropic targets read files of type application/pdf, text/* or image/{jpeg,png,gif,webp}, not ${mediaType}`, {
    param,
    code: 'unsupported_content',
  });
}

function withCache<T extends object>(block: T, part: { cache_control?: TextPart['cache_control'] }): T {
  return part.cache_control ? { ...block, cache_control: part.cache_control } : block;
}

/** Content as Anthropic blocks; a part type Anthropic cannot read is refused with its position. */
function partBlocks(content: string | ContentPart[] | null | undefined, param: string): UserBlock[] {
  if (content == null) return [];
  // Anthropic refuses empty text blocks, so empty strings simply produce no block.
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const out: UserBlock[] = [];
  content.forEach((part, j) => {
    const at = `${param}.content[${j}]`;
    if (part.type === 'text') {
      if (part.text) out.push(withCache({ type: 'text', text: part.text }, part));
    } else if (part.type === 'refusal') {
      if (part.refusal) out.push({ type: 'text', text: part.refusal });
    } else if (part.type === 'image_url') out.push(withCache(imageBlock(part.image_url.url, at), part));
    else if (part.type === 'file') out.push(withCache(documentBlock(part.file, at), part));
    else throw new ClientError(`${at}: anthropic targets cannot read ${(part as { type: string }).type} content`, { param: at, code: 'unsupported_content' });
  });
  return out;
}

function toolUseInput(call: NonNullable<ChatMessage['tool_calls']>[number]): unknown {
  const args = call.function.arguments;
  if (args == null || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    throw new ClientError(`tool call ${call.id} (${call.function.name}) has arguments that are not valid JSON`, { param: 'messages' });
  }
}

function toolResult(msg: ChatMessage, param: string): AnthropicToolResultBlock {
  const content = typeof msg.content === 'string' || msg.content == null ? (msg.content ?? '') : partBlocks(msg.content, param);
  return { type: 'tool_result', tool_use_id: msg.tool_call_id!, content, ...(msg.is_error ? { is_error: true } : {}) };
}

/** Thinking blocks, text, then tool_use: the order Anthropic itself answers in and expects back. */
function assistantBlocks(msg: ChatMessage, param: string): AnthropicRequestBlock[] {
  const blocks: AnthropicRequestBlock[] = [];
  for (const b of msg.thinking_blocks ?? []) {
    // A thinking block without its signature is refused by Anthropic; reasoning from other models has none.
    if (b.type === 'thinking' && b.signature) blocks.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    else if (b.type === 'redacted_thinking' && b.data) blocks.push({ type: 'redacted_thinking', data: b.data });
  }
  if (Array.isArray(msg.content) && msg.content.some((p) => p.type === 'text' && p.cache_control)) blocks.push(...partBlocks(msg.content, param));
  else {
    const text =
      typeof msg.content === 'string'
        ? msg.content
        : (msg.content ?? []).map((p) => (p.type === 'text' ? p.text : p.type === 'refusal' ? p.refusal : '')).join('');
    if (text) blocks.push({ type: 'text', text });
  }
  for (const call of msg.tool_calls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolUseInput(call) });
  return blocks;
}

type Turn = { role: 'user' | 'assistant'; blocks: AnthropicRequestBlock[] };

/** Appends blocks as one turn of `role`, merging into the previous turn when it has the same role. */
function pushTurn(out: Turn[], role: 'user' | 'assistant', blocks: AnthropicRequestBlock[]): void {
  if (blocks.length === 0) return;
  const last = out.at(-1);
  if (last && last.role === role) last.blocks.push(...blocks);
  else out.push({ role, blocks });
}

/** System and developer text; as blocks when a part carries a cache breakpoint, else one string. */
function systemOf(parts: AnthropicTextBlock[]): string | AnthropicTextBlock[] | undefined {
  if (parts.length === 0) return undefined;
  return parts.some((p) => p.cache_control) ? parts : parts.map((p) => p.text).join('\n\n');
}

/**
 * Splits system/developer messages out into one `system` and converts the rest. The tool messages answering one
 * assistant turn become a single user turn holding exactly one `tool_result` per `tool_use` id, in call order.
 */
export function toAnthropicMessages(messages: ChatMessage[]): { system?: string | AnthropicTextBlock[]; messages: AnthropicMessage[] } {
  const system: AnthropicTextBlock[] = [];
  const turns: Turn[] = [];
  let i = 0;
  while (i < messages.length) {
    const msg = messages[i];
    const param = `messages[${i}]`;
    if (msg.role === 'system' || msg.role === 'developer') {
      if (Array.isArray(msg.content)) {
        for (const p of msg.content) if (p.type === 'text' && p.text) system.push(withCache({ type: 'text', text: p.text }, p));
      } else {
        const text = contentText(msg.content);
        if (text) system.push({ type: 'text', text });
      }
      i++;
    } else if (msg.role === 'user') {
      pushTurn(turns, 'user', partBlocks(msg.content, param));
      i++;
    } else if (msg.role === 'assistant') {
      pushTurn(turns, 'assistant', assistantBlocks(msg, param));
      i++;
      if (msg.tool_calls?.length)
        i = pairToolResults(
          messages,
          i,
          msg.tool_calls.map((c) => c.id),
          turns,
        );
    } else if (msg.role === 'tool') {
      throw new ClientError(`tool message for ${msg.tool_call_id ?? '(no tool_call_id)'} does not follow an assistant message with that tool call`, {
        param: 'messages',
      });
    } else {
      throw new ClientError(`unsupported message role: ${String((msg as { role: unknown }).role)}`, { param: 'messages' });
    }
  }
  if (turns.length === 0) throw new ClientError('at least one user or assistant message is required', { param: 'messages' });
  const sys = systemOf(system);
  return {
    ...(sys !== undefined ? { system: sys } : {}),
    messages: turns.map((t) => ({
      role: t.role,
      content: t.blocks.length === 1 && t.blocks[0].type === 'text' && !t.blocks[0].cache_control ? t.blocks[0].text : t.blocks,
    })),
  };
}

/** Consumes the tool messages from `start` that answer `ids`; returns the index after them. */
function pairToolResults(messages: ChatMessage[], start: number, ids: string[], turns: Turn[]): number {
  const results = new Map<string, AnthropicToolResultBlock>();
  let i = start;
  for (; i < messages.length && messages[i].role === 'tool'; i++) {
    const msg = messages[i];
    const id = msg.tool_call_id ?? '';
    if (!ids.includes(id))
      throw new ClientError(`tool message for ${id || '(no tool_call_id)'} answers no tool call of the preceding assistant message`, { param: 'messages' });
    if (results.has(id)) throw new ClientError(`tool call ${id} has more than one tool message`, { param: 'messages' });
    results.set(id, toolResult(msg, `messages[${i}]`));
  }
  const missing = ids.filter((id) => !results.has(id));
  if (missing.length) throw new ClientError(`tool call ${missing.join(', ')} has no tool message answering it`, { param: 'messages' });
  turns.push({ role: 'user', blocks: ids.map((id) => results.get(id)!) });
  return i;
}
