// Tenancy test helpers: a real node whose logs are captured, an optional reusable data dir, and small HTTP calls.
import { parseConfig } from '../../src/config/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { tempDir } from '../helpers.ts';

export const ADMIN_KEY = 'admin-secret-0123456789abcdef';

export interface TenancyNode {
  node: FlowRouterNode;
  url: string;
  dataDir: string;
  /** Everything the node logged (JSON lines) and warned. */
  logs(): string;
  /** Stops the node; removes the data dir unless it was given. */
  stop(): Promise<void>;
}

export async function startNode(yaml: string, opts: { env?: NodeJS.ProcessEnv; dataDir?: string; host?: string } = {}): Promise<TenancyNode> {
  const dir = opts.dataDir ? undefined : tempDir('flowrouter-tenancy-');
  const dataDir = opts.dataDir ?? dir!.path;
  const config = parseConfig(yaml, 'test.yaml', { ADMIN_KEY, ...opts.env }, { host: opts.host ?? '127.0.0.1', port: 0, dataDir });
  let captured = '';
  const node = new FlowRouterNode(config, {
    logger: {
      level: 'trace',
      stream: {
        write: (line: string) => {
          captured += line;
        },
      },
    },
    warn: (message) => {
      captured += `${message}\n`;
    },
  });
  const { port } = await node.start();
  return {
    node,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logs: () => captured,
    stop: async () => {
      await node.stop();
      dir?.remove();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function call(
  url: string,
  path: string,
  opts: { method?: string; key?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(url + path, {
    method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE or empty */
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function chat(url: string, key: string | undefined, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Reply> {
  return call(url, '/v1/chat/completions', { key, headers, body: { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], ...body } });
}
