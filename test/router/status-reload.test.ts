// GET /v1/router/status, /ready, health checks, and hot reload from the config file (valid, invalid, SIGHUP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/index.ts';
import { FlowRouterNode } from '../../src/node/index.ts';
import { startFakeOpenAI, openaiError, type FakeOpenAI } from '../fakes/openai.ts';

const yaml = (a: FakeOpenAI, b: FakeOpenAI, extra = '') => `
chains:
  main:
    - { provider: openai, name: a, model: ma, key: sk-status-secret-0123456789, url: "${a.url}" }
    - { provider: openai, name: b, model: mb, key: sk-status-secret-0123456789, url: "${b.url}" }
router: { breaker_failures: 1, breaker_cooldown_ms: 60000${extra} }
`;

async function withNode(
  text: (a: FakeOpenAI, b: FakeOpenAI) => string,
  body: (ctx: { url: string; file: string; a: FakeOpenAI; b: FakeOpenAI; node: FlowRouterNode }) => Promise<void>,
) {
  const a = await startFakeOpenAI();
  const b = await startFakeOpenAI();
  const dir = mkdtempSync(join(tmpdir(), 'flowrouter-reload-'));
  const file = join(dir, 'flowrouter.yaml');
  writeFileSync(file, text(a, b));
  const node = new FlowRouterNode(loadConfigFile(file, {}, { host: '127.0.0.1', port: 0, dataDir: dir }));
  try {
    const { url } = await node.start();
    await body({ url, file, a, b, node });
  } finally {
    await node.stop();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const chat = (url: string, model = 'main') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

async function until(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('status shows each target’s breaker, latency, error rate and load without keys or URLs; /ready follows breakers', async () => {
  await withNode(yaml, async ({ url, a, b }) => {
    a.handler = (_r, res) => {
      openaiError(res, 500, 'down', 'server_error');
      return true;
    };
    assert.equal((await chat(url)).headers.get('x-flowrouter-target'), 'b');
    const res = await fetch(`${url}/v1/router/status`);
    const text = await res.text();
    const status = JSON.parse(text);
    const [ta, tb] = status.targets;
    assert.equal(ta.breaker.state, 'open');
    assert.ok(ta.breaker.retry_in_ms > 50_000);
    assert.equal(ta.error_rate, 1);
    assert.equal(tb.breaker.state, 'closed');
    assert.equal(tb.requests, 1);
    assert.equal(typeof tb.latency.avg_ms, 'number');
    assert.equal(tb.in_flight, 0);
    assert.deepEqual(status.chains, [{ name: 'main', strategy: 'priority', targets: ['a', 'b'] }]);
    assert.doesNotMatch(text, /secret|127\.0\.0\.1/);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    b.handler = a.handler;
    await chat(url);
    assert.equal((await fetch(`${url}/ready`)).status, 503, 'every breaker is open');
  });
});

test('editing the config file swaps chains; targets that stay keep their state; in-flight requests finish', async () => {
  await withNode(yaml, async ({ url, file, a, b, node }) => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    b.handler = async (req, res) => {
      await held;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c',
          object: 'chat.completion',
          created: 1,
          model: req.body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'late' }, finish_reason: 'stop' }],
        }),
      );
      return true;
    };
    a.handler = (_r, res) => {
      openaiError(res, 500, 'down', 'server_error');
      return true;
    };
    const inFlight = chat(url);
    try {
      await until(() => b.requests.length === 1);
      writeFileSync(file, yaml(a, b).replace('main:', 'main2:'));
      await until(() => node.router.currentConfig.chains.has('main2'));
    } finally {
      release();
    }
    const res = await inFlight;
    assert.equal(res.status, 200, 'the request that started before the reload finished on the old chain');
    assert.equal(((await res.json()) as any).choices[0].message.content, 'late');
    assert.equal((await chat(url, 'main2')).status, 200);
    const status: any = await (await fetch(`${url}/v1/router/status`)).json();
    assert.equal(status.targets.find((t: any) => t.id === 'a').breaker.state, 'open', 'target a kept its open breaker across the reload');
  });
});

test('an invalid new config is rejected and the running one kept; SIGHUP reloads', async () => {
  await withNode(yaml, async ({ url, file, a, b, node }) => {
    const before = node.router.currentConfig;
    writeFileSync(file, 'chains:\n  main:\n    - { provider: nope, model: x }\n');
    process.emit('SIGHUP', 'SIGHUP');
    assert.equal(node.router.currentConfig, before);
    assert.equal((await chat(url)).status, 200);
    writeFileSync(file, yaml(a, b).replace('main:', 'renamed:'));
    process.emit('SIGHUP', 'SIGHUP');
    assert.ok(node.router.currentConfig.chains.has('renamed'));
  });
});

test('active health checks close an open breaker once GET /models passes', async () => {
  await withNode(
    (a, b) => yaml(a, b, ', health_check_interval_ms: 50'),
    async ({ url, a }) => {
      let down = true;
      a.handler = (req, res) => {
        if (!down && req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
          return true;
        }
        if (!down) return false;
        openaiError(res, 500, 'down', 'server_error');
        return true;
      };
      await chat(url);
      const stateOfA = async () => ((await (await fetch(`${url}/v1/router/status`)).json()) as any).targets[0].breaker.state;
      assert.equal(await stateOfA(), 'open');
      down = false;
      await until(async () => (await stateOfA()) === 'closed');
      assert.ok(a.requests.some((r) => r.method === 'GET' && r.url === '/v1/models' && r.headers.authorization === 'Bearer sk-status-secret-0123456789'));
      assert.equal((await chat(url)).headers.get('x-flowrouter-target'), 'a');
    },
  );
});
