// The provider registry, the one list of provider types: config validation, BYOK headers, health probes and strategies read it.
import type { Provider, ProviderType } from './types.ts';
import { openai } from './openai/index.ts';
import { azure } from './azure/index.ts';
import { local } from './local/index.ts';
import { anthropic } from './anthropic/index.ts';
import { gemini } from './gemini/index.ts';
import { ProviderTypeTaken } from '../core/errors.ts';

// Adding a provider: its folder, and one entry here.
const BUILT_IN: readonly Provider[] = [openai, azure, anthropic, gemini, local];

const registry: Record<ProviderType, Provider> = Object.create(null);
for (const p of BUILT_IN) registry[p.type] = p;

/** Every registered provider by type; an unknown type reads as undefined. */
export const providers: Readonly<Record<ProviderType, Provider | undefined>> = registry;

export function isProviderType(name: string): boolean {
  return registry[name] !== undefined;
}

/** The registered types in registration order (for messages and header lists). */
export function providerTypes(): ProviderType[] {
  return Object.keys(registry);
}

/**
 * Adds a provider at run time (an embedder's own upstream, or a test's); returns the function that removes it.
 * Register before the config is loaded: validation reads the registry when a config is parsed.
 */
export function registerProvider(provider: Provider): () => void {
  if (registry[provider.type]) throw new ProviderTypeTaken(provider.type);
  registry[provider.type] = provider;
  return () => {
    if (registry[provider.type] === provider) delete registry[provider.type];
  };
}
