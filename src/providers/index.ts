// The provider registry: adding a provider is one folder and one line here.
import type { Provider, ProviderType } from './types.ts';
import { openai } from './openai/index.ts';
import { azure } from './azure/index.ts';
import { local } from './local/index.ts';
import { anthropic } from './anthropic/index.ts';
import { gemini } from './gemini/index.ts';

export const providers: Record<ProviderType, Provider> = { openai, azure, anthropic, gemini, local };

export type { Provider, ProviderAccount, ProviderType, Timeouts, HttpRequestSpec, SseEvent, StreamTranslator, TranslationContext } from './types.ts';
export { Transport, type ChatResult } from './transport.ts';
export { readSse } from './sse.ts';
