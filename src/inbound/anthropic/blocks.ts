// Anthropic user-side content blocks (text, image, document, tool_result content) → internal content parts.
import type { CacheControl, ContentPart } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import { toDataUrl } from '../../core/data-url.ts';
import type { InboundBlock } from './wire.ts';

export function refuse(param: string, message: string, code = 'invalid_request'): ClientError {
  return new ClientError(`${param}: ${message}`, { param, code });
}

function cache(cc: CacheControl | null | undefined): { cache_control?: CacheControl } {
  return cc ? { cache_control: cc } : {};
}

function imagePart(b: InboundBlock, param: string): ContentPart {
  const s = b.source;
  if (s?.type === 'base64' && typeof s.data === 'string' && typeof s.media_type === 'string') {
    return { type: 'image_url', image_url: { url: toDataUrl(s.media_type, s.data) }, ...cache(b.cache_control) };
  }
  if (s?.type === 'url' && typeof s.url === 'string') return { type: 'image_url', image_url: { url: s.url }, ...cache(b.cache_control) };
  if (s?.type === 'file')
    throw refuse(`${param}.source`, 'file sources name files stored at Anthropic and cannot be sent to other providers', 'unsupported_content');
  throw refuse(`${param}.source`, 'an image source is base64 (media_type, data) or url');
}

/** A document: PDF and plain text become file parts (kept whole for every provider), inline content its own parts. */
function documentParts(b: InboundBlock, param: string): ContentPart[] {
  const s = b.source;
  const name = typeof b.title === 'string' && b.title ? { filename: b.title } : {};
  if (s?.type === 'base64' && typeof s.data === 'string') {
    if (s.media_type !== 'application/pdf')
      throw refuse(`${param}.source.media_type`, `a base64 document must be application/pdf, not ${String(s.media_type)}`);
    return [{ type: 'file', file: { file_data: toDataUrl('application/pdf', s.data), ...name }, ...cache(b.cache_control) }];
  }
  if (s?.type === 'text' && typeof s.data === 'string') {
    return [{ type: 'file', file: { file_data: toDataUrl('text/plain', Buffer.from(s.data, 'utf8').toString('base64')), ...name }, ...cache(b.cache_control) }];
  }
  if (s?.type === 'url' && typeof s.url === 'string') return [{ type: 'file', file: { file_url: s.url, ...name }, ...cache(b.cache_control) }];
  if (s?.type === 'content') {
    if (typeof s.content === 'string') return s.content ? [{ type: 'text', text: s.content }] : [];
    if (Array.isArray(s.content)) return s.content.flatMap((inner, k) => userParts(inner, `${param}.source.content.${k}`, ['text', 'image']));
  }
  if (s?.type === 'file')
    throw refuse(`${param}.source`, 'file sources name files stored at Anthropic and cannot be sent to other providers', 'unsupported_content');
  throw refuse(`${param}.source`, 'a document source is base64 (application/pdf), text, url or content');
}

/** One block as parts; `allowed` limits the block types valid where it sits (a type outside it is refused by name). */
export function userParts(b: InboundBlock, param: string, allowed: readonly string[] = ['text', 'image', 'document']): ContentPart[] {
  if (!b || typeof b !== 'object' || typeof b.type !== 'string') throw refuse(param, 'a content block needs a type');
  if (!allowed.includes(b.type))
    throw refuse(`${param}.type`, `${b.type} blocks cannot be translated for this target (supported here: ${allowed.join(', ')})`, 'unsupported_content');
  switch (b.type) {
    case 'text':
      if (typeof b.text !== 'string') throw refuse(`${param}.text`, 'Field required');
      return b.text ? [{ type: 'text', text: b.text, ...cache(b.cache_control) }] : [];
    case 'image':
      return [imagePart(b, param)];
    default:
      return documentParts(b, param);
  }
}

/** A tool_result's content: a string stays one; blocks become parts (text, images, documents). */
export function toolResultContent(content: InboundBlock['content'], param: string): string | ContentPart[] {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw refuse(param, 'Input should be a valid list or string');
  const parts = content.flatMap((b, k) => userParts(b, `${param}.${k}`));
  // A text-only result is sent as plain text: the form every provider's tool message takes.
  return parts.every((p) => p.type === 'text' && !p.cache_control) ? parts.map((p) => (p as { text: string }).text).join('\n') : parts;
}
