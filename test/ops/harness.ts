// A real node for the ops tests: one chain to a fake OpenAI upstream, its own metrics (optionally with stand-in gauge sources).
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Metrics, MetricsSources } from '../../src/ops/index.ts';
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
  /** Replace the node's gauge sources (breakers, knowledge base, mesh) with stand-ins. */
  sources?: MetricsSources;
  /** The config's `auth:` section, as YAML flow text. */
  auth?: string;
  logger?: FastifyServerOptions['logger'];
  fakeHandler?: FakeHandler;
}

export async function startOpsHarness(opts: HarnessOptions = {}): Promise<OpsHarness> {
  const fake = await startFakeOpenAI(opts.fakeHandler ?? null);
  const node = await startTestNode(
    `
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-harness-secret-0123456789
      url: ${fake.url}
${opts.auth ? `auth: ${opts.auth}\n` : ''}`,
    {},
    { logger: opts.logger ?? false },
  );
  const metrics = node.node.metrics;
  if (opts.sources) metrics.setSources(opts.sources);
  return {
    fake,
    node,
    app: node.node.app,
    metrics,
    url: node.url,
    chat: (body, headers = {}) =>
      fetch(`${node.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      }),
    stop: async () => {
      await node.stop();
      await fake.close();
    },
  };
}
