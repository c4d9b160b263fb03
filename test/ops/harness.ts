// A gateway app wired like the node will be: the ops layers around a real node's router, with /metrics and /ui registered.
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { ClientError } from '../../src/core/errors.ts';
import { buildGateway, type ChatService } from '../../src/gateway/index.ts';
import { createMetrics, metricsObserver, observeChat, opsRoutes, requestLogObserver, type Metrics, type MetricsSources, type RequestLogger } from '../../src/ops/index.ts';
import { startFakeOpenAI, type FakeHandler, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

export interface OpsHarness {
  fake: FakeOpenAI;
  node: TestNode;
  app: FastifyInstance;
  metrics: Metrics;
  url: string;
  chat(body: Record<string, unknown>, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  sources?: MetricsSources;
  guard?: (request: FastifyRequest) => void | Promise<void>;
  logger?: FastifyServerOptions['logger'];
  /** Where the request log goes; `app.log` when omitted. */
  requestLog?: RequestLogger;
  fakeHandler?: FakeHandler;
}

export async function startOpsHarness(opts: HarnessOptions = {}): Promise<OpsHarness> {
  const fake = await startFakeOpenAI(opts.fakeHandler ?? null);
  const node = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-harness-secret-0123456789
      url: ${fake.url}
`);
  const metrics = createMetrics({ sources: opts.sources });
  const routerService: ChatService = async (req, meta) => {
    const r = await node.node.router.chat(req, meta);
    return { result: r.result, headers: { 'x-flowrouter-chain': r.chain, 'x-flowrouter-target': r.target, 'x-flowrouter-attempts': String(r.attempts.length) } };
  };
  const unused = async (): Promise<never> => { throw new ClientError('not part of this test'); };
  let log: RequestLogger | undefined = opts.requestLog;
  const chat = observeChat(
    metricsObserver(metrics, (model, usage) => node.node.prices.costOf(model, usage)),
    requestLogObserver({ info: (o, m) => (log ?? app.log).info(o, m), warn: (o, m) => (log ?? app.log).warn(o, m) }),
  )(routerService);
  const app = buildGateway({ chat, embeddings: unused, completions: unused, models: () => [], ready: () => ({ ready: true }) },
    { bodyLimitBytes: 1_000_000, logger: opts.logger ?? false });
  await app.register(opsRoutes, { metrics, guard: opts.guard });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    fake, node, app, metrics, url,
    chat: (body, headers = {}) => fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    }),
    stop: async () => {
      log = undefined;
      metrics.stop();
      await app.close();
      await node.stop();
      await fake.close();
    },
  };
}
