// Chain selection: chain name, then the first matching route rule, then a chain serving the model, then `default`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../src/config/index.ts';
import type { ChatRequest } from '../../src/core/openai.ts';
import { selectChain, matchRoute, promptTokens } from '../../src/router/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';

const config = parseConfig(
  `
chains:
  default: [{ provider: openai, name: d, model: gpt-4o, url: "http://127.0.0.1:1/v1" }]
  cheap: [{ provider: local, name: l, model: llama3, url: "http://127.0.0.1:1/v1" }]
  strong: [{ provider: openai, name: s, model: gpt-4.1, url: "http://127.0.0.1:1/v1" }]
  vision: [{ provider: openai, name: v, model: gpt-4o, url: "http://127.0.0.1:1/v1" }]
routes:
  - { name: long, chain: strong, match: { model: "task-*", min_prompt_tokens: 100 } }
  - { name: short, chain: cheap, match: { model: "task-*", max_prompt_tokens: 99 } }
  - { name: tools, chain: strong, match: { has_tools: true } }
  - { name: images, chain: vision, match: { has_images: true } }
  - { name: header, chain: cheap, match: { header: { X-Tier: "bulk*" } } }
  - { name: tag, chain: strong, match: { metadata: { priority: high } } }
  - { name: client, chain: cheap, match: { client: [batch-bot, nightly] } }
`,
  't.yaml',
  {},
  { dataDir: '/tmp' },
);

function pick(req: Partial<ChatRequest>, meta: { headers?: Record<string, string>; client?: { id: string } } = {}): string {
  const full = { model: 'x', messages: [{ role: 'user' as const, content: 'hi' }], ...req } as ChatRequest;
  const m = { requestId: 'r', signal: new AbortController().signal, headers: meta.headers ?? {}, client: meta.client };
  return selectChain(config, full, () => {
    const r = matchRoute(config.routes, full, m, () => promptTokens(full));
    return r && config.chains.get(r.chain);
  }).chain.name;
}

test('a model naming a chain wins over every rule', () => {
  assert.equal(pick({ model: 'cheap', metadata: { priority: 'high' } }), 'cheap');
});

test('rules match on model glob and prompt tokens counted by a tokenizer', () => {
  assert.equal(pick({ model: 'task-a' }), 'cheap');
  assert.equal(pick({ model: 'task-a', messages: [{ role: 'user', content: 'word '.repeat(150) }] }), 'strong');
});

test('rules match on tools, images, a header, a metadata tag and the client id', () => {
  assert.equal(pick({ tools: [{ type: 'function', function: { name: 'f' } }] }), 'strong');
  assert.equal(
    pick({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: 'data:,' } },
          ],
        },
      ],
    }),
    'vision',
  );
  assert.equal(pick({}, { headers: { 'x-tier': 'bulk-2' } }), 'cheap');
  assert.equal(pick({ metadata: { priority: 'high' } }), 'strong');
  assert.equal(pick({ metadata: { priority: 'low' } }), 'default');
  assert.equal(pick({}, { client: { id: 'nightly' } }), 'cheap');
});

test('without a rule, a chain serving the model is used, else default', () => {
  assert.equal(pick({ model: 'llama3' }), 'cheap');
  assert.equal(pick({ model: 'unknown' }), 'default');
});

test('prompt tokens are counted once per request', () => {
  const req = { model: 'x', messages: [{ role: 'user', content: 'hello world' }] } as ChatRequest;
  const n = promptTokens(req);
  req.messages.push({ role: 'user', content: 'more '.repeat(100) });
  assert.equal(promptTokens(req), n);
});

test('mesh-configs/routing-example.yaml: short tasks go to the local model, long ones to the strong model', async () => {
  const local = await startFakeOpenAI();
  const strong = await startFakeOpenAI();
  const dir = mkdtempSync(join(tmpdir(), 'flowrouter-rules-'));
  const env = { OPENAI_API_KEY: 'sk-example-secret-0123456789', LOCAL_URL: local.url, OPENAI_URL: strong.url };
  const node = new FlowRouterNode(
    loadConfigFile(join(import.meta.dirname, '../../mesh-configs/routing-example.yaml'), env, { host: '127.0.0.1', port: 0, dataDir: dir }),
  );
  try {
    const { url } = await node.start();
    const ask = async (content: string) => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }),
      });
      assert.equal(res.status, 200);
      return res.headers.get('x-flowrouter-target');
    };
    const targets: string[] = [];
    for (let i = 0; i < 100; i++) targets.push((await ask(`Is ${i} prime? Think step by step.`))!);
    for (let i = 0; i < 5; i++) targets.push((await ask(`Prove lemma ${i}: ` + 'given the constraints below, '.repeat(400)))!);
    assert.deepEqual(targets.slice(0, 100), Array(100).fill('local-small'));
    assert.deepEqual(targets.slice(100), Array(5).fill('strong'));
    assert.equal(local.requests.length, 100);
    assert.equal(strong.requests.length, 5);
    assert.equal(strong.requests[0].headers.authorization, 'Bearer sk-example-secret-0123456789');
  } finally {
    await node.stop();
    await local.close();
    await strong.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
