// A local OpenAI-compatible server (llama.cpp, vLLM, Ollama): OpenAI's translation, no key required.
import type { Provider } from '../types.ts';
import { openai } from '../openai/index.ts';

export const local: Provider = {
  ...openai,
  type: 'local',
  defaultBaseUrl: 'http://127.0.0.1:8080/v1',
  selfHosted: true,
  // Local servers are spoken to in Chat Completions only (many have no Responses API).
  native: undefined,
};
