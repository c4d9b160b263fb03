// A prompt's fingerprint: what stays the same across calls of one prompt template, hashed, so usage groups by task.
import { hash } from 'node:crypto';
import { contentText, type ChatRequest } from '../core/openai.ts';
import { normalizeRequest } from '../cache/index.ts';

/** Quoted spans, numbers and long hex/ids are what changes between two uses of a template. */
function mask(text: string): string {
  return text
    .replace(/"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|`[^`\n]*`|«[^»\n]*»|“[^”\n]*”/g, '"…"')
    .replace(/\b[0-9a-f]{8,}\b/gi, '#')
    .replace(/\d+(?:[.,]\d+)*/g, '#');
}

/**
 * How much of each user turn identifies its template. A template's fixed words come first; what follows a long way
 * in is pasted context (documents, history) that differs per call anyway, and masking it costs ~12 ns a character
 * on every request.
 */
const TEMPLATE_CHARS = 4096;

/**
 * sha256 (first 16 hex chars) over the normalized prompt's template: system/developer text as is, the first
 * TEMPLATE_CHARS of user text with numbers, ids and quoted spans masked, and only the role of assistant and tool turns
 * (plus the tool names offered).
 */
export function promptFingerprint(req: ChatRequest): string {
  const { request } = normalizeRequest(req);
  const parts = request.messages.map((m) => {
    if (m.role === 'system' || m.role === 'developer') return `${m.role}:${contentText(m.content)}`;
    if (m.role === 'user') return `user:${mask(contentText(m.content).slice(0, TEMPLATE_CHARS))}`;
    return m.role;
  });
  const tools = (request.tools ?? [])
    .map((t) => t.function.name)
    .sort()
    .join(',');
  return hash('sha256', `${parts.join('\u0000')}\u0001${tools}`, 'hex').slice(0, 16);
}
