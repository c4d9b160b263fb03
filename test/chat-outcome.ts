// A whole JSON chat answer as the router hands it to the layers, for tests of the layers around it.
import type { Outcome } from '../src/pipeline/index.ts';

/** `content` becomes its one choice (no choice when absent); `usage` its prompt and completion tokens. */
export function jsonOutcome(model: string, usage: { prompt: number; completion: number }, content?: string): Outcome<'chat'> {
  return {
    kind: 'json',
    firstByteMs: 1,
    response: {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model,
      choices: content === undefined ? [] : [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
    },
  };
}
