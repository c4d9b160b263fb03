// What the fake Anthropic API checks beyond roles and tool pairing: signed thinking, documents, cache breakpoints, the thinking switch.
import { createHash } from 'node:crypto';

type Bad = (message: string) => [number, string, string];
type Block = { type: string; [k: string]: any };

/** The fake signs thinking with a hash of its text, so a changed, missing or foreign signature is caught as the real API catches it. */
export function fakeSignature(thinking: string): string {
  return `EqFake${createHash('sha256').update(thinking).digest('base64url').slice(0, 32)}`;
}

const blocksOf = (content: unknown): Block[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : ((content as Block[]) ?? []));

function checkCacheControl(cc: unknown, where: string, bad: Bad): [number, string, string] | null {
  if (cc === undefined || cc === null) return null;
  const c = cc as { type?: unknown; ttl?: unknown };
  if (c.type !== 'ephemeral' || Object.keys(c).some((k) => k !== 'type' && k !== 'ttl'))
    return bad(`${where}.cache_control: Input should be {type: 'ephemeral', ttl?}`);
  if (c.ttl !== undefined && c.ttl !== '5m' && c.ttl !== '1h') return bad(`${where}.cache_control.ttl: Input should be '5m' or '1h'`);
  return null;
}

function checkDocument(b: Block, where: string, bad: Bad): [number, string, string] | null {
  const s = b.source ?? {};
  if (s.type === 'base64') {
    if (s.media_type !== 'application/pdf') return bad(`${where}.document.source.base64.media_type: Input should be 'application/pdf'`);
    if (typeof s.data !== 'string' || !s.data) return bad(`${where}.document.source.base64.data: Field required`);
  } else if (s.type === 'text') {
    if (s.media_type !== 'text/plain') return bad(`${where}.document.source.text.media_type: Input should be 'text/plain'`);
    if (typeof s.data !== 'string') return bad(`${where}.document.source.text.data: Field required`);
  } else if (s.type === 'url') {
    if (!/^https?:\/\//.test(s.url ?? '')) return bad(`${where}.document.source.url.url: invalid URL`);
  } else if (s.type !== 'content') {
    return bad(
      `${where}.document.source: Input tag '${String(s.type)}' found using 'type' does not match any of the expected tags: 'base64', 'content', 'text', 'url'`,
    );
  }
  return null;
}

/** Thinking blocks carry the fake's own signature; redacted ones their data. */
function checkThinking(b: Block, where: string, bad: Bad): [number, string, string] | null {
  if (b.type === 'redacted_thinking') return typeof b.data === 'string' && b.data ? null : bad(`${where}.redacted_thinking.data: Field required`);
  if (typeof b.signature !== 'string' || !b.signature) return bad(`${where}.thinking.signature: Field required`);
  if (b.signature !== fakeSignature(String(b.thinking ?? ''))) return bad(`${where}: Invalid \`signature\` in \`thinking\` block`);
  return null;
}

/** Blocks in messages and system: documents, thinking, and at most four cache breakpoints in the whole request. */
export function checkBlocks(body: any, bad: Bad): [number, string, string] | null {
  let breakpoints = 0;
  const count = (cc: unknown) => {
    if (cc) breakpoints++;
  };
  for (const [k, s] of (Array.isArray(body.system) ? body.system : []).entries()) {
    count(s.cache_control);
    const problem = checkCacheControl(s.cache_control, `system.${k}`, bad);
    if (problem) return problem;
  }
  for (const [k, t] of (body.tools ?? []).entries()) {
    count(t.cache_control);
    const problem = checkCacheControl(t.cache_control, `tools.${k}`, bad);
    if (problem) return problem;
  }
  for (const [i, m] of (body.messages ?? []).entries()) {
    for (const [j, b] of blocksOf(m.content).entries()) {
      const where = `messages.${i}.content.${j}`;
      count(b.cache_control);
      const problem =
        checkCacheControl(b.cache_control, where, bad)
        ?? (b.type === 'document' ? checkDocument(b, where, bad) : null)
        ?? (b.type === 'thinking' || b.type === 'redacted_thinking' ? checkThinking(b, where, bad) : null);
      if (problem) return problem;
    }
  }
  if (breakpoints > 4) return bad(`A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`);
  return null;
}

/** The thinking switch and what it forbids; with it on, the assistant turn being answered by tool results starts with thinking. */
export function checkThinkingConfig(body: any, bad: Bad): [number, string, string] | null {
  const t = body.thinking;
  if (t === undefined) return null;
  if (t.type === 'disabled' || t.type === 'adaptive') return null;
  if (t.type !== 'enabled') return bad("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'");
  if (!Number.isInteger(t.budget_tokens) || t.budget_tokens < 1024) return bad('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  if (t.budget_tokens >= body.max_tokens) return bad('`max_tokens` must be greater than `thinking.budget_tokens`');
  if (body.temperature !== undefined && body.temperature !== 1) return bad('`temperature` may only be set to 1 when thinking is enabled');
  if (body.top_k !== undefined) return bad('`top_k` must be unset when thinking is enabled');
  if (body.top_p !== undefined && body.top_p < 0.95) return bad('`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled');
  if (body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool') return bad('Thinking may not be enabled when `tool_choice` forces tool use.');
  const messages: any[] = body.messages ?? [];
  const last = messages.at(-1);
  const answered = last?.role === 'user' && blocksOf(last.content).some((b) => b.type === 'tool_result');
  const i = messages.length - 2;
  if (answered && i >= 0) {
    const first = blocksOf(messages[i].content)[0];
    if (first && first.type !== 'thinking' && first.type !== 'redacted_thinking') {
      return bad(
        `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks).`,
      );
    }
  }
  return null;
}
