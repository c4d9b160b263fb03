// `POST /v1/messages/count_tokens` when the target is not Anthropic: the best estimate Flow Router can make offline.
import type { ChatMessage, ChatRequest, ContentPart } from '../../core/openai.ts';
import { countTokens } from '../../core/tokens.ts';
import { fileData } from '../../core/data-url.ts';
import { anthropicToChatRequest } from './request.ts';
import type { MessagesRequest } from './wire.ts';

/** Anthropic scales images to at most ~1.15 megapixels, about 1,600 tokens; agents mostly send screenshots that size. */
export const IMAGE_TOKENS = 1600;
/** Anthropic bills a PDF page as its text plus an image of it: "typically 1,500–3,000 tokens". */
export const PDF_PAGE_TOKENS = 2250;
/** The system prompt Anthropic adds when tools are present (346 tokens for auto/none on current models). */
export const TOOLS_PROMPT_TOKENS = 346;
/** Role and separator tokens per message. */
const PER_MESSAGE = 4;
/** Bytes per page of a PDF whose page objects are compressed out of sight. */
const PDF_BYTES_PER_PAGE = 50_000;

/** Pages of a PDF by its page objects (`/Type /Page`, not `/Pages`), else by size. */
function pdfPages(base64: string): number {
  const bytes = Buffer.from(base64, 'base64');
  const pages = bytes.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
  return pages || Math.max(1, Math.ceil(bytes.length / PDF_BYTES_PER_PAGE));
}

function partTokens(p: ContentPart): number {
  switch (p.type) {
    case 'text':
      return countTokens(p.text);
    case 'refusal':
      return countTokens(p.refusal);
    case 'image_url':
      return IMAGE_TOKENS;
    case 'file': {
      if (p.file.file_data === undefined) return PDF_PAGE_TOKENS; // a URL: its size is unknown here
      const { mediaType, data } = fileData(p.file.file_data, p.file.filename);
      if (mediaType.startsWith('text/')) return countTokens(Buffer.from(data, 'base64').toString('utf8'));
      return mediaType === 'application/pdf' ? pdfPages(data) * PDF_PAGE_TOKENS : IMAGE_TOKENS;
    }
    default:
      return 0;
  }
}

function messageTokens(m: ChatMessage): number {
  let n = PER_MESSAGE;
  if (typeof m.content === 'string') n += countTokens(m.content);
  else for (const p of m.content ?? []) n += partTokens(p);
  for (const c of m.tool_calls ?? []) n += countTokens(c.function.name) + countTokens(c.function.arguments);
  return n;
}

/**
 * Input tokens of a chat request counted with Flow Router's tokenizer (o200k), images, PDF pages and the tool
 * prompt at Anthropic's published sizes. Thinking from earlier turns is left out, as Anthropic leaves it out.
 */
export function estimateChatInputTokens(req: ChatRequest): number {
  let n = 0;
  for (const m of req.messages) n += messageTokens(m);
  if (req.tools?.length) n += TOOLS_PROMPT_TOKENS + countTokens(JSON.stringify(req.tools.map((t) => t.function)));
  return n;
}

/** The count_tokens answer for an Anthropic request body (which has no max_tokens). Throws ClientError like /v1/messages. */
export function estimateAnthropicInputTokens(body: Omit<MessagesRequest, 'max_tokens'> & { max_tokens?: number }): { input_tokens: number } {
  const req = anthropicToChatRequest({ ...body, max_tokens: 1, stream: false } as MessagesRequest);
  return { input_tokens: estimateChatInputTokens(req) };
}
