// Client APIs besides Chat Completions: pure translations to and from the internal chat shape, one folder per API.
export * as anthropicInbound from './anthropic/index.ts';
export * as responsesInbound from './responses/index.ts';
export { packState, unpackState, isCarrierToken, type CarriedState } from './carrier.ts';
