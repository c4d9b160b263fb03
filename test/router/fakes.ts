// Shared pieces for router tests: a port nothing listens on, a seeded random source, and driving a router directly.
import { createServer } from 'node:net';
import type { ChatRequest } from '../../src/core/openai.ts';
import { createContext, type ContextInit, type RequestContext } from '../../src/pipeline/index.ts';
import { promptTokens, type Router } from '../../src/router/index.ts';

/** A loopback port that refuses connections: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** mulberry32: a small deterministic PRNG, uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A request context as the gateway would make it, for driving a router directly. */
export function testContext(req: { model: string }, init: Partial<ContextInit> = {}): RequestContext {
  return createContext({ requestId: 'r', operation: 'chat', signal: new AbortController().signal, countPrompt: () => promptTokens(req), ...init });
}

/** A chat request through a router as a pipeline would run it (its stream watched by the request's tap), with what the trace recorded. */
export async function routeChat(router: Router, req: ChatRequest, ctx: RequestContext = testContext(req)) {
  const result = ctx.tap.watch(
    await router.chat(req, ctx).catch((err: unknown) => {
      ctx.tap.fail(err, ctx.signal.aborted);
      throw err;
    }),
    ctx.signal,
  );
  return { result, chain: ctx.trace.route?.chain.name, target: ctx.trace.target, model: ctx.trace.model, attempts: ctx.trace.attempts, ctx };
}
