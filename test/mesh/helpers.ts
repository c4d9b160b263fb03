// Shared fixtures for mesh tests: loopback nodes in temp dirs with short timings, fake local chains, bounded waits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatChunk, ChatRequest, ChatResponse } from '../../src/core/openai.ts';
import { createMeshNode } from '../../src/mesh/index.ts';
import type { CapacityInfo, ForwardContext, ForwardOptions, MeshDeps, MeshNode, MeshOptions } from '../../src/mesh/index.ts';
import type { ChatResult } from '../../src/providers/transport.ts';

export const FAST_TIMING = { heartbeatMs: 300, recordTtlMs: 3_000, republishMs: 2_000, dhtTimeoutMs: 2_000, keepaliveMs: 200 };

export function capacity(models: string[], extra: Partial<CapacityInfo> = {}): CapacityInfo {
  return { models, chains: [], freeConcurrency: 4, latencyP50Ms: 100, errorRate: 0, version: '0.1.0-test', ...extra };
}

export function response(model: string, text: string): ChatResponse {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

export function chunk(model: string, text: string): ChatChunk {
  return { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
}

export function request(model: string, stream = false): ChatRequest {
  return { model, stream, messages: [{ role: 'user', content: 'hi' }] };
}

/** A local "chain" that answers with the node name, as JSON or as a stream of three chunks. */
export function echoServe(name: string): (req: ChatRequest, ctx: ForwardContext) => Promise<ChatResult> {
  return async (req) => {
    if (!req.stream) return { kind: 'json', response: response(req.model, `from ${name}`), firstByteMs: 1 };
    async function* gen(): AsyncGenerator<ChatChunk> {
      for (const t of ['a', 'b', 'c']) yield chunk(req.model, t);
    }
    return { kind: 'stream', chunks: gen(), firstByteMs: 1 };
  };
}

export interface TestMesh {
  nodes: MeshNode[];
  dirs: string[];
  add(opts?: Partial<MeshOptions>, deps?: Partial<MeshDeps>): Promise<MeshNode>;
  close(): Promise<void>;
}

export function testMesh(): TestMesh {
  const mesh: TestMesh = {
    nodes: [],
    dirs: [],
    async add(opts = {}, deps = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'flowrouter-mesh-'));
      mesh.dirs.push(dir);
      const node = createMeshNode(
        { dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, timing: FAST_TIMING, ...opts },
        { capacity: () => capacity([]), serveForward: echoServe('?'), ...deps },
      );
      mesh.nodes.push(node);
      await node.start();
      return node;
    },
    async close() {
      await Promise.all(mesh.nodes.map((n) => n.stop()));
      await Promise.all(mesh.dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
  return mesh;
}

/** The router's use of the mesh in one step: the best-ranked peer serving the model, and its answer. */
export async function forwardToBest(node: MeshNode, req: ChatRequest, opts: ForwardOptions): Promise<{ peerId: string; result: ChatResult }> {
  const [peerId] = await node.peersFor(req.model, AbortSignal.timeout(5_000));
  if (!peerId) throw new Error(`no mesh peer serves model "${req.model}"`);
  return { peerId, result: await node.forward(peerId, req, opts) };
}

export function addrOf(node: MeshNode): string {
  const a = node.status().multiaddrs.find((m) => m.includes('/127.0.0.1/'));
  if (!a) throw new Error('node has no loopback address');
  return a;
}

/** Polls `check` until it returns a truthy value or `ms` passes. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 8_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
