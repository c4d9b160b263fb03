// The request pipeline's public door: the context every layer reads, the layer and outcome types, the one stream tap.
export {
  createContext,
  type Attempt,
  type AttemptGate,
  type AttemptHold,
  type CacheDirectives,
  type ClientInfo,
  type ContextInit,
  type EdgeDirectives,
  type InboundRequest,
  type Operation,
  type RequestContext,
  type Route,
  type Trace,
} from './context.ts';
export { pipeline, type AnyLayer, type Handler, type Layer, type OperationShapes, type Outcome, type RequestOf } from './types.ts';
export { RequestTap, type AnyResponse, type EndListener, type RequestEnd } from './tap.ts';
export { ChatAssembler, CompletionsAssembler, assembleChunks, type Assembler } from './assemble.ts';
