// Checks the schema cannot express: message-level rules every provider needs to hold.
import type { ChatRequest } from '../core/openai.ts';
import { ClientError } from '../core/errors.ts';

export function validateChatSemantics(req: ChatRequest): void {
  const callIds = new Set<string>();
  req.messages.forEach((m, i) => {
    if (m.role === 'tool' && !m.tool_call_id)
      throw new ClientError(`messages[${i}]: a tool message needs tool_call_id`, { param: `messages[${i}].tool_call_id`, code: 'missing_required_parameter' });
    if ((m.role === 'user' || m.role === 'system' || m.role === 'developer') && (m.content === undefined || m.content === null)) {
      throw new ClientError(`messages[${i}]: a ${m.role} message needs content`, { param: `messages[${i}].content`, code: 'missing_required_parameter' });
    }
    if (m.role === 'assistant' && (m.content === undefined || m.content === null) && !m.tool_calls?.length) {
      throw new ClientError(`messages[${i}]: an assistant message needs content or tool_calls`, { param: `messages[${i}].content` });
    }
    for (const c of m.tool_calls ?? []) callIds.add(c.id);
    if (m.role === 'tool' && m.tool_call_id && !callIds.has(m.tool_call_id)) {
      throw new ClientError(`messages[${i}]: tool_call_id "${m.tool_call_id.slice(0, 64)}" answers no earlier assistant tool call`, {
        param: `messages[${i}].tool_call_id`,
      });
    }
  });
  if (req.tool_choice && typeof req.tool_choice === 'object') {
    const name = req.tool_choice.function.name;
    if (!req.tools?.some((t) => t.function.name === name))
      throw new ClientError(`tool_choice names "${name.slice(0, 64)}", which is not in tools`, { param: 'tool_choice' });
  }
  if (req.tool_choice === 'required' && !req.tools?.length) throw new ClientError('tool_choice "required" needs tools', { param: 'tool_choice' });
}
