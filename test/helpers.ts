// Starts real nodes for tests: a config from YAML text, a fresh data dir under the OS temp dir, port 0 on 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/index.ts';
import { FlowRouterNode, type NodeOptions } from '../src/node/index.ts';

export interface TestNode {
  node: FlowRouterNode;
  url: string;
  baseURL: string;
  dataDir: string;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'flowrouter-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startTestNode(yaml: string, env: NodeJS.ProcessEnv = {}, options: NodeOptions = {}): Promise<TestNode> {
  const dir = tempDir();
  const config = parseConfig(yaml, 'test.yaml', env, { host: '127.0.0.1', port: 0, dataDir: dir.path });
  const node = new FlowRouterNode(config, { logger: false, ...options });
  const { url } = await node.start();
  return {
    node,
    url,
    baseURL: `${url}/v1`,
    dataDir: dir.path,
    stop: async () => {
      await node.stop();
      dir.remove();
    },
  };
}
