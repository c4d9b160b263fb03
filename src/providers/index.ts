// Providers: the registry of provider types, their pure translations and the shared HTTP transport.
export { providers, isProviderType, providerTypes, registerProvider } from './registry.ts';
export type { Provider, ProviderAccount, ProviderType, Timeouts, HttpRequestSpec, NativeApi, SseEvent, StreamTranslator, TranslationContext } from './types.ts';
export { Transport, type ChatResult } from './transport.ts';
export { readSse } from './sse.ts';
