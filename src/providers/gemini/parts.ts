// OpenAI content parts → Gemini parts: text, images, files (PDF and others as inline data) and audio.
import type { ChatMessage, ContentPart, FilePart } from '../../core/openai.ts';
import { ClientError } from '../../core/errors.ts';
import { fileData, mediaTypeOf, parseDataUrl } from '../../core/data-url.ts';
import type { GeminiPart } from './wire.ts';

const AUDIO_TYPES = { wav: 'audio/wav', mp3: 'audio/mp3' } as const;

export function contentParts(content: ChatMessage['content'], i: number): GeminiPart[] {
  if (content == null) return [];
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  return content.flatMap((p, j) => partOf(p, `messages[${i}].content[${j}]`));
}

function partOf(p: ContentPart, param: string): GeminiPart[] {
  switch (p.type) {
    case 'text':
      return p.text ? [{ text: p.text }] : [];
    case 'refusal':
      return p.refusal ? [{ text: p.refusal }] : [];
    case 'image_url':
      return [imagePart(p.image_url.url, param)];
    case 'file':
      return [filePart(p.file, param)];
    case 'input_audio': {
      const mimeType = AUDIO_TYPES[p.input_audio.format];
      if (!mimeType) throw new ClientError(`${param}: input_audio.format must be wav or mp3`, { param });
      return [{ inlineData: { mimeType, data: p.input_audio.data } }];
    }
    default:
      throw new ClientError(`${param}: gemini targets cannot read ${(p as { type: string }).type} content`, { param, code: 'unsupported_content' });
  }
}

function imagePart(url: string, param: string): GeminiPart {
  const data = parseDataUrl(url);
  if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
  if (url.startsWith('data:')) throw new ClientError(`${param}: image data URLs must be base64-encoded`, { param });
  if (!/^https?:\/\//i.test(url)) throw new ClientError(`${param}: image_url must be an http(s) or data: URL`, { param });
  return { fileData: { mimeType: mediaTypeOf(new URL(url).pathname, 'image/jpeg'), fileUri: url } };
}

/** Files travel inline (any type Gemini reads: PDF, text, images, audio) or by URI. */
function filePart(file: FilePart['file'], param: string): GeminiPart {
  if (file.file_url !== undefined) {
    if (!/^https?:\/\//i.test(file.file_url)) throw new ClientError(`${param}: file_url must be an http(s) URL`, { param });
    return { fileData: { mimeType: mediaTypeOf(new URL(file.file_url).pathname, 'application/pdf'), fileUri: file.file_url } };
  }
  if (file.file_data === undefined) {
    throw new ClientError(`${param}: gemini targets need the file's content in file_data (a file_id names a file stored at OpenAI)`, {
      param,
      code: 'unsupported_content',
    });
  }
  const { mediaType, data } = fileData(file.file_data, file.filename);
  return { inlineData: { mimeType: mediaType, data } };
}
