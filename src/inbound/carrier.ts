// Provider state a client API has no field for, packed into the one opaque field it does send back verbatim: an
// Anthropic thinking block's `signature`, a Responses reasoning item's `encrypted_content`.
import type { ThinkingBlock } from '../core/openai.ts';

/** Anthropic signatures and OpenAI encrypted reasoning never start like this, so a token is recognised by it alone. */
const PREFIX = 'flowrouter.v1.';

export interface CarriedState {
  /** Anthropic thinking blocks, signatures included (for clients whose API has no thinking blocks). */
  thinking_blocks?: ThinkingBlock[];
  /** Gemini thought signatures by tool call id. */
  google_calls?: Record<string, string>;
  /** The Gemini thought signature of the answer's text. */
  google_text?: string;
}

export function isEmptyState(s: CarriedState): boolean {
  return !s.thinking_blocks?.length && !s.google_text && Object.keys(s.google_calls ?? {}).length === 0;
}

export function packState(s: CarriedState): string {
  return PREFIX + Buffer.from(JSON.stringify(s)).toString('base64url');
}

export function isCarrierToken(token: unknown): token is string {
  return typeof token === 'string' && token.startsWith(PREFIX);
}

function isThinkingBlock(b: unknown): b is ThinkingBlock {
  const x = b as Record<string, unknown> | null;
  return (
    !!x
    && ((x.type === 'thinking' && typeof x.thinking === 'string' && typeof x.signature === 'string')
      || (x.type === 'redacted_thinking' && typeof x.data === 'string'))
  );
}

/** The state in a token, keeping only well-formed parts: a token comes back from a client, which may have altered it. */
export function unpackState(token: string): CarriedState | null {
  if (!isCarrierToken(token)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const out: CarriedState = {};
  if (Array.isArray(r.thinking_blocks)) out.thinking_blocks = r.thinking_blocks.filter(isThinkingBlock);
  if (r.google_calls && typeof r.google_calls === 'object') {
    out.google_calls = Object.fromEntries(Object.entries(r.google_calls).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  if (typeof r.google_text === 'string') out.google_text = r.google_text;
  return out;
}
