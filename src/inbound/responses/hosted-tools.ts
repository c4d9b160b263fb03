// OpenAI's hosted tools (web search, file search, code interpreter, image generation, remote MCP) run at OpenAI, and
// `namespace` groups are a form the translation does not read: a request translated for another provider leaves
// them out, with their calls in the history, and says what it left out.
import type { InputItem, ResponsesRequest } from './wire.ts';

const HOSTED_TOOL = /^(web_search|file_search|code_interpreter|image_generation|mcp|namespace)(_|$)/;
/** Items the hosted tools leave in the output, hence in later inputs. */
const HOSTED_ITEM =
  /^(web_search_call|file_search_call|code_interpreter_call|image_generation_call|mcp_call|mcp_list_tools|mcp_approval_request|mcp_approval_response)$/;

export interface LeftOut {
  body: ResponsesRequest;
  previous: InputItem[];
  /** What was left out, by path (`tools[8] (web_search)`). */
  leftOut: string[];
}

function items(list: InputItem[], path: string, leftOut: string[]): InputItem[] {
  return list.filter((item, i) => {
    const hosted = typeof item?.type === 'string' && HOSTED_ITEM.test(item.type);
    if (hosted) leftOut.push(`${path}[${i}] (${item.type})`);
    return !hosted;
  });
}

/**
 * The request (and the stored turns it continues) without hosted tools and their items. A tool_choice forcing one is
 * kept: the translation refuses it, so the request can only go where the Responses API is spoken.
 */
export function leaveOutHostedTools(body: ResponsesRequest, previous: readonly InputItem[]): LeftOut {
  const leftOut: string[] = [];
  if (!body || typeof body !== 'object') return { body, previous: [...previous], leftOut };
  const out: ResponsesRequest = { ...body };
  if (Array.isArray(body.tools)) {
    out.tools = body.tools.filter((t, i) => {
      const hosted = typeof t?.type === 'string' && HOSTED_TOOL.test(t.type);
      if (hosted) leftOut.push(`tools[${i}] (${t.type})`);
      return !hosted;
    });
  }
  if (Array.isArray(body.input)) out.input = items(body.input, 'input', leftOut);
  const kept = items([...previous], 'previous_response_id', leftOut);
  return { body: leftOut.length ? out : body, previous: kept, leftOut };
}
