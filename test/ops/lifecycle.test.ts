// Graceful shutdown of a real node: a slow stream in flight finishes, new requests are refused, stop steps run in order after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gracefulShutdown } from '../../src/ops/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

/** An upstream that streams `parts` chunks, one every `everyMs`; cleans its timer if the connection goes away. */
function slowStream(parts: number, everyMs: number) {
  return (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
    let i = 0;
    const timer = setInterval(() => {
      if (i < parts) res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `p${i}` }, finish_reason: null }] })}\n\n`);
      else {
        clearInterval(timer);
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      }
      i++;
    }, everyMs);
    res.on('close', () => clearInterval(timer));
    return true;
  };
}

async function setup(parts: number, everyMs: number): Promise<{ fake: FakeOpenAI; t: TestNode }> {
  const fake = await startFakeOpenAI(slowStream(parts, everyMs));
  const t = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-lifecycle-0123456789
      url: ${fake.url}
`);
  return { fake, t };
}

function streamRequest(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(15_000),
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow' }], stream: true }),
  });
}

test('a stream in flight when shutdown starts completes; new requests are refused; stop steps run after, in order', async () => {
  const { fake, t } = await setup(8, 100);
  const order: string[] = [];
  try {
    // When the server finished writing the stream, and when the first stop step ran: the step must come after.
    let streamFinishedAt = Infinity;
    let firstStopAt = -Infinity;
    t.node.app.server.on('request', (_req, serverRes) =>
      serverRes.once('finish', () => {
        streamFinishedAt = performance.now();
      }),
    );
    const res = await streamRequest(t.url);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read();

    const shutdown = gracefulShutdown({
      app: t.node.app,
      graceMs: 10_000,
      stopFns: [
        {
          name: 'usage',
          stop: () => {
            firstStopAt = performance.now();
            order.push('usage');
          },
        },
        {
          name: 'failing',
          stop: () => {
            throw new Error('boom');
          },
        },
        {
          name: 'transport',
          stop: async () => {
            await t.node.transport.stop();
            order.push('transport');
          },
        },
        {
          name: 'database',
          stop: () => {
            t.node.db.close();
            order.push('database');
          },
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(streamRequest(t.url), 'a new connection is refused while closing');

    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await shutdown.then(
      () => {},
      () => {},
    );
    assert.ok(firstStopAt >= streamFinishedAt, 'no stop step runs while the stream is still being written');
    assert.match(text, /p7/);
    assert.match(text, /data: \[DONE\]\n\n$/);

    const report = await shutdown;
    assert.equal(report.forced, false);
    // Closing must not wait for the client's kept-alive connection to time out (Node's default is 5 s).
    assert.ok(report.ms < 4500, `shutdown took ${report.ms} ms`);
    assert.deepEqual(report.failed, ['failing']);
    assert.deepEqual(order, ['usage', 'transport', 'database']);
    assert.equal(t.node.db.open, false);
    assert.equal(t.node.app.server.listening, false);
  } finally {
    await fake.close();
    await t.stop().catch(() => {});
  }
});

test('a stream still running at the deadline is cut and shutdown completes on time', async () => {
  const { fake, t } = await setup(1000, 50);
  try {
    const res = await streamRequest(t.url);
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    const report = await gracefulShutdown({ app: t.node.app, graceMs: 300, stopFns: [{ name: 'transport', stop: () => t.node.transport.stop() }] });
    const took = Date.now() - started;
    assert.equal(report.forced, true);
    assert.ok(took >= 280 && took < 3000, `took ${took} ms`);
    // The client sees its connection end (cut, or ended without [DONE]) rather than hanging.
    const rest = await (async () => {
      let text = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      } catch {
        /* cut */
      }
      return text;
    })();
    assert.doesNotMatch(rest, /\[DONE\]/);
  } finally {
    await fake.close();
    await t.stop().catch(() => {});
  }
});

test('SIGTERM on a node process lets the running stream finish, then the process exits 0', async () => {
  const fake = await startFakeOpenAI(slowStream(6, 100));
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'fixtures/signal-node.ts'), fake.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start line: ${out}`)), 15_000);
      proc.stdout!.on('data', () => {
        const m = /listening (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const res = await streamRequest(url);
    const reader = res.body!.getReader();
    await reader.read();
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.match(text, /data: \[DONE\]\n\n$/);
    assert.equal(await exited, 0);
    assert.match(out, /shutting down/);
    assert.match(out, /database closed\nshut down \{"ms":\d+,"forced":false,"failed":\[\]\}/);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await fake.close();
  }
});
