// Anthropic's server tools (web search, web fetch, code execution, tool search) run at Anthropic: a request translated
// for another provider leaves them out, with their blocks in the history, and says what it left out.
import type { ClientError } from '../../core/errors.ts';
import type { InboundBlock, MessagesRequest } from './wire.ts';
import { refuse } from './blocks.ts';

const SERVER_TOOL = /^(web_search|web_fetch|code_execution|tool_search_tool_[a-z]+)_\d{8}$/;
/** Blocks such tools leave in an assistant turn: their calls and their results (`tool_result` is the client's own). */
const SERVER_BLOCK = /^(server_tool_use|[a-z_]+_tool_result)$/;

export interface LeftOut {
  body: MessagesRequest;
  /** What was left out, by Anthropic path (`tools.3 (web_search_20250305)`). */
  leftOut: string[];
  /** A tool_choice forcing a server tool: only Anthropic can honour it. */
  refusal?: ClientError;
}

/**
 * The request without server tools and their blocks; unchanged (the same object) when it has none. A tool_choice
 * forcing a server tool cannot be honoured elsewhere: that is a refusal for every other provider.
 */
export function leaveOutServerTools(body: MessagesRequest): LeftOut {
  const leftOut: string[] = [];
  let refusal: ClientError | undefined;
  if (!body || typeof body !== 'object') return { body, leftOut };
  const out: MessagesRequest = { ...body };
  if (Array.isArray(body.tools)) {
    const kept = body.tools.filter((t, i) => {
      const server = typeof t?.type === 'string' && SERVER_TOOL.test(t.type);
      if (server) leftOut.push(`tools.${i} (${t.type})`);
      return !server;
    });
    if (kept.length !== body.tools.length) {
      const named = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
      if (named !== undefined && !kept.some((t) => t.name === named)) {
        refusal = refuse(
          'tool_choice.name',
          `${named} is one of Anthropic's server tools, which run only when the request goes to Anthropic unchanged`,
          'unsupported_tool',
        );
        delete out.tool_choice;
      }
      if (kept.length) out.tools = kept;
      else {
        delete out.tools;
        delete out.tool_choice;
      }
    }
  }
  if (Array.isArray(body.messages)) {
    out.messages = body.messages.map((m, i) => {
      if (m?.role !== 'assistant' || !Array.isArray(m.content) || !m.content.some((b) => SERVER_BLOCK.test(b?.type))) return m;
      const content = m.content.filter((b: InboundBlock, j) => {
        const server = SERVER_BLOCK.test(b?.type);
        if (server) leftOut.push(`messages.${i}.content.${j} (${b.type})`);
        return !server;
      });
      return { ...m, content };
    });
  }
  return { body: leftOut.length ? out : body, leftOut, ...(refusal ? { refusal } : {}) };
}
