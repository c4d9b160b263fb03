// The pipeline's contract: what each operation carries in and out, a handler, a layer, and how layers compose.
import type { ChatChunk, ChatRequest, ChatResponse, CompletionsRequest, CompletionsResponse, EmbeddingsRequest, EmbeddingsResponse } from '../core/openai.ts';
import type { Operation, RequestContext } from './context.ts';

/** Request, answer and stream chunk of each operation, all in the internal (OpenAI) shape. */
export interface OperationShapes {
  chat: { request: ChatRequest; response: ChatResponse; chunk: ChatChunk };
  embeddings: { request: EmbeddingsRequest; response: EmbeddingsResponse; chunk: never };
  completions: { request: CompletionsRequest; response: CompletionsResponse; chunk: CompletionsResponse };
}

export type RequestOf<O extends Operation> = OperationShapes[O]['request'];

/** An answer: a whole JSON response, or a stream that has already produced its first chunk. */
export type Outcome<O extends Operation = 'chat'> =
  | { kind: 'json'; response: OperationShapes[O]['response']; firstByteMs: number }
  | { kind: 'stream'; chunks: AsyncGenerator<OperationShapes[O]['chunk']>; firstByteMs: number };

export type Handler<O extends Operation = 'chat'> = (req: RequestOf<O>, ctx: RequestContext) => Promise<Outcome<O>>;

/** A step that wraps the next one (tenancy, usage, RAG, cache, normalization…). */
export type Layer<O extends Operation = 'chat'> = (next: Handler<O>) => Handler<O>;

/** A layer that works the same for every operation (it reads only the context and the request's model). */
export type AnyLayer = <O extends Operation>(next: Handler<O>) => Handler<O>;

/**
 * The layers, outermost first, around the core (the router); the result also runs the request's one stream tap, so
 * every listener hears the end of the request exactly once.
 */
export function pipeline<O extends Operation>(layers: Layer<O>[], core: Handler<O>): Handler<O> {
  const inner = layers.reduceRight<Handler<O>>((next, layer) => layer(next), core);
  return async (req, ctx) => {
    let outcome: Outcome<O>;
    try {
      outcome = await inner(req, ctx);
    } catch (err) {
      ctx.tap.fail(err, ctx.signal.aborted);
      throw err;
    }
    return ctx.tap.watch(outcome, ctx.signal);
  };
}
