// Anthropic `system` and messages → internal chat messages: tool results become tool messages, thinking stays signed.
import type { ChatMessage, ContentPart, ThinkingBlock, ToolCall } from '../../core/openai.ts';
import { isCarrierToken, unpackState, type CarriedState } from '../carrier.ts';
import { refuse, toolResultContent, userParts } from './blocks.ts';
import type { InboundBlock, InboundMessage } from './wire.ts';

function blocksOf(content: InboundMessage['content'], param: string): InboundBlock[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw refuse(`${param}.content`, 'Input should be a valid list or string');
  return content;
}

/** System text: one string, or text parts when a block carries a cache breakpoint (providers that cache keep it). */
export function systemMessage(system: string | InboundBlock[] | undefined, param = 'system'): ChatMessage | null {
  if (system === undefined || system === '') return null;
  if (typeof system === 'string') return { role: 'system', content: system };
  if (!Array.isArray(system)) throw refuse(param, 'Input should be a valid list or string');
  const parts = system.flatMap((b, k) => userParts(b, `${param}.${k}`, ['text']));
  if (parts.length === 0) return null;
  return {
    role: 'system',
    content: parts.some((p) => p.type === 'text' && p.cache_control) ? parts : parts.map((p) => (p as { text: string }).text).join('\n\n'),
  };
}

/** tool_result blocks become tool messages (first, as OpenAI wants them right after the calls); the rest one user message. */
function userMessages(blocks: InboundBlock[], param: string): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  blocks.forEach((b, j) => {
    const at = `${param}.content.${j}`;
    if (b?.type === 'tool_result') {
      if (typeof b.tool_use_id !== 'string' || !b.tool_use_id) throw refuse(`${at}.tool_use_id`, 'Field required');
      tools.push({
        role: 'tool',
        tool_call_id: b.tool_use_id,
        content: toolResultContent(b.content, `${at}.content`),
        ...(b.is_error ? { is_error: true } : {}),
      });
    } else parts.push(...userParts(b, at));
  });
  if (parts.length === 0) return tools;
  const plain = parts.every((p) => p.type === 'text' && !p.cache_control);
  return [...tools, { role: 'user', content: plain && parts.length === 1 ? (parts[0] as { text: string }).text : parts }];
}

/**
 * Thinking blocks Anthropic signed are kept whole; one Flow Router filled with state from another provider is
 * unpacked; one without a signature (reasoning another model showed) only adds to reasoning_content.
 */
function assistantMessage(blocks: InboundBlock[], param: string): ChatMessage {
  const texts: ContentPart[] = [];
  const thinking: ThinkingBlock[] = [];
  const calls: ToolCall[] = [];
  let reasoning = '';
  const carried: CarriedState = {};
  blocks.forEach((b, j) => {
    const at = `${param}.content.${j}`;
    if (b?.type === 'text') texts.push(...userParts(b, at, ['text']));
    else if (b?.type === 'thinking') {
      if (typeof b.thinking === 'string') reasoning += b.thinking;
      if (isCarrierToken(b.signature)) Object.assign(carried, unpackState(b.signature));
      else if (typeof b.signature === 'string' && b.signature) thinking.push({ type: 'thinking', thinking: b.thinking ?? '', signature: b.signature });
    } else if (b?.type === 'redacted_thinking') {
      if (typeof b.data !== 'string') throw refuse(`${at}.data`, 'Field required');
      thinking.push({ type: 'redacted_thinking', data: b.data });
    } else if (b?.type === 'tool_use') {
      if (typeof b.id !== 'string' || typeof b.name !== 'string') throw refuse(at, 'a tool_use block needs id and name');
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    } else
      throw refuse(
        `${at}.type`,
        `${String(b?.type)} blocks cannot be translated for this target (supported here: text, thinking, redacted_thinking, tool_use)`,
        'unsupported_content',
      );
  });
  // Only thinking (or nothing, a prefill) still makes a valid assistant message: empty text, not null.
  const msg: ChatMessage = { role: 'assistant', content: calls.length ? null : '' };
  if (texts.length) msg.content = texts.some((p) => p.type === 'text' && p.cache_control) ? texts : texts.map((p) => (p as { text: string }).text).join('');
  for (const call of calls) {
    const signature = carried.google_calls?.[call.id];
    if (signature) call.extra_content = { google: { thought_signature: signature } };
  }
  if (calls.length) msg.tool_calls = calls;
  if (reasoning) msg.reasoning_content = reasoning;
  if (thinking.length) msg.thinking_blocks = thinking;
  if (carried.google_text) msg.extra_content = { google: { thought_signature: carried.google_text } };
  return msg;
}

/** The conversation in the internal shape; `system` comes first. */
export function toChatMessages(system: string | InboundBlock[] | undefined, messages: InboundMessage[]): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw refuse('messages', 'at least one message is required');
  const out: ChatMessage[] = [];
  const sys = systemMessage(system);
  if (sys) out.push(sys);
  messages.forEach((m, i) => {
    const param = `messages.${i}`;
    if (!m || typeof m !== 'object') throw refuse(param, 'Input should be a valid dictionary');
    if (m.role === 'system') {
      const s = systemMessage(m.content as string | InboundBlock[], `${param}.content`);
      if (s) out.push(s);
      return;
    }
    if (m.role !== 'user' && m.role !== 'assistant') throw refuse(`${param}.role`, "Input should be 'user' or 'assistant'");
    const blocks = blocksOf(m.content, param);
    if (m.role === 'user') out.push(...userMessages(blocks, param));
    else out.push(assistantMessage(blocks, param));
  });
  return out;
}
