// A peer process killed with SIGKILL while it streams a forwarded answer: the client's stream ends with a clear error, the node carries on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir } from '../helpers.ts';

const FORWARD_TIMEOUT_MS = 5_000;

test('SIGKILL of the serving peer mid-stream ends the client stream with an error event; the node stays healthy', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const secretFile = join(dir.path, 'mesh.key');
  await writeMeshSecret(secretFile);
  // The peer's upstream trickles a long answer, so the kill lands while chunks are still flowing.
  const fake = await startFakeOpenAI(async (req, res) => {
    if (!req.body?.stream) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const timer = setInterval(() => {
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: `t${i++} ` }, finish_reason: null }] })}\n\n`,
      );
      if (i === 300) {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
      }
    }, 50);
    res.on('close', () => clearInterval(timer));
    return true;
  });
  const mesh = (bootstrap: string[]) =>
    `mesh:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  secret_file: ${secretFile}\n`
    + `  forward_timeout_ms: ${FORWARD_TIMEOUT_MS}\n  bootstrap: [${bootstrap.join(', ')}]\n`;
  const victim = await startTestNode(
    `${mesh([])}chains:\n  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: http://127.0.0.1:9/v1\n`
      + `  local-ok:\n    - model: ok-model\n      provider: local\n      url: ${fake.url}\n`,
  );
  const peerDir = tempDir();
  const configFile = join(peerDir.path, 'config.yaml');
  writeFileSync(
    configFile,
    `${mesh([victim.node.meshLink!.mesh.status().multiaddrs[0]])}chains:\n  default:\n    - model: gpt-4o-mini\n      provider: local\n      url: ${fake.url}\n`,
  );
  const child = spawn(
    'node_modules/.bin/node',
    [
      '--disable-warning=ExperimentalWarning',
      'src/cli/main.ts',
      'start',
      '--config',
      configFile,
      '--data-dir',
      peerDir.path,
      '--port',
      '0',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  try {
    const peerId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the peer did not start within 30 s')), 30_000);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /mesh peer id (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the peer exited before starting'));
      });
    });
    const deadline = Date.now() + 20_000;
    while (!victim.node.meshLink!.mesh.peers().some((p) => p.peerId === peerId && p.capacity?.models.includes('gpt-4o-mini'))) {
      if (Date.now() > deadline) throw new Error("the victim never learnt the peer's capacity");
      await new Promise((r) => setTimeout(r, 50));
    }

    const res = await fetch(`${victim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(30_000),
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long answer please' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-flowrouter-target'), `peer:${peerId}`);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('t3 ')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended before the kill');
      text += decoder.decode(value, { stream: true });
    }
    const killedAt = performance.now();
    child.kill('SIGKILL');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const endedAfter = performance.now() - killedAt;
    assert.equal(await exited, 'SIGKILL');
    assert.ok(endedAfter < FORWARD_TIMEOUT_MS, `the client stream ended ${endedAfter} ms after the kill`);
    // The stream was cut mid-answer: an OpenAI-shaped error event, then the terminator, never a silent truncation.
    const events = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6));
    assert.equal(events.at(-1), '[DONE]');
    const error = JSON.parse(events.at(-2)!) as { error?: { message: string; type: string } };
    assert.ok(error.error && typeof error.error.message === 'string', `last event before [DONE]: ${events.at(-2)}`);
    assert.ok(!text.includes('t299'), 'the answer was really cut');

    // The node is healthy: /health, a local request, and a forward that now fails cleanly for want of peers.
    assert.equal((await fetch(`${victim.url}/health`)).status, 200);
    const local = await fetch(`${victim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ok-model', messages: [{ role: 'user', content: 'after' }] }),
    });
    assert.equal(local.status, 200);
    const started = performance.now();
    const forward = await fetch(`${victim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after' }] }),
    });
    assert.ok(forward.status === 502 || forward.status === 504, `status ${forward.status}`);
    assert.equal(typeof ((await forward.json()) as { error: { message: string } }).error.message, 'string');
    assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS + 1_000);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await victim.stop();
    await fake.close();
    peerDir.remove();
    dir.remove();
  }
});
