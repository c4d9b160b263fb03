// Huge unbroken texts (prompts, answers, streams without usage) never hold the event loop: /health keeps answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOpenAI, chatResponse, writeChatStream, type FakeOpenAI } from '../fakes/openai.ts';
import { startNode, type TenancyNode } from '../tenancy/setup.ts';
import { loadTokenizer } from '../../src/core/tokens.ts';
import { watchEventLoop } from '../event-loop-watch.ts';

const WORD = 'a'.repeat(400_000);
/** The bound on what one request may hold the loop for; the node, fake upstream and client share this thread. */
const MAX_BUSY_MS = 20;
let fake: FakeOpenAI;
let gw: TenancyNode;
let key: string;

before(async () => {
  // The tables load once per process (~0.2 s): that is start-up, not what one request costs.
  loadTokenizer();
  fake = await startFakeOpenAI(async (req, res) => {
    // Answers the size of the prompt, with no usage: the node must count them itself.
    if (req.body.stream) {
      writeChatStream(res, req.body.model, ['echo: ', WORD], false);
      return true;
    }
    const { usage: _usage, ...body } = chatResponse(req.body.model, `echo: ${WORD}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return true;
  });
  // A key with a TPM limit and a token-count route rule: the prompt is counted by tenancy and by the router.
  gw = await startNode(`
auth: { mode: required }
routes:
  - name: long
    match: { min_prompt_tokens: 1000 }
    chain: default
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-test-0123456789
      url: ${fake.url}
`);
  key = gw.node.tenancy.keys.create('big', { tpm: 100_000_000 }).key;
  // The first request through a fresh process compiles the request path (~50 ms of CPU here): start-up again.
  assert.equal((await chat({ messages: [{ role: 'user', content: 'warm up' }] })).status, 200);
});

after(async () => {
  await gw?.stop();
  await fake?.close();
});

/**
 * Runs `work` while polling /health back to back; returns its result, the slowest /health answer (wall time) and the
 * most CPU the main thread spent between two 5 ms ticks (what the node held the loop for, however busy the machine).
 */
async function whilePolling<T>(work: () => Promise<T>): Promise<{ result: T; slowestMs: number; polls: number; busyMs: number }> {
  let done = false;
  let slowestMs = 0;
  let polls = 0;
  const watch = watchEventLoop();
  const poller = (async () => {
    while (!done) {
      const started = performance.now();
      const res = await request(`${gw.url}/health`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
      await res.body.text();
      slowestMs = Math.max(slowestMs, performance.now() - started);
      polls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const stop = async (): Promise<number> => {
    done = true;
    await poller;
    return watch.stop().maxBusyMs;
  };
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await stop();
    throw err;
  }
  const busyMs = await stop();
  return { result, slowestMs, polls, busyMs };
}

async function chat(body: object): Promise<{ status: number; text: string }> {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: WORD }], ...body }),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test('a 400,000-character one-word prompt is answered while /health keeps answering within 100 ms and the loop is never held 20 ms', {
  timeout: 60_000,
}, async () => {
  const { result, slowestMs, polls, busyMs } = await whilePolling(() => chat({}));
  assert.equal(result.status, 200, result.text.slice(0, 300));
  assert.ok(result.text.includes(WORD.slice(0, 1000)));
  assert.ok(polls > 0);
  assert.ok(slowestMs < 100, `/health took ${slowestMs.toFixed(1)} ms`);
  assert.ok(busyMs < MAX_BUSY_MS, `the main thread was busy ${busyMs.toFixed(1)} ms without yielding`);
});

test('the same prompt streamed, with a one-word answer and no usage, keeps /health within 100 ms and the loop never held 20 ms', {
  timeout: 60_000,
}, async () => {
  const { result, slowestMs, busyMs } = await whilePolling(() => chat({ stream: true }));
  assert.equal(result.status, 200, result.text.slice(0, 300));
  assert.ok(result.text.trimEnd().endsWith('data: [DONE]'));
  assert.ok(slowestMs < 100, `/health took ${slowestMs.toFixed(1)} ms`);
  assert.ok(busyMs < MAX_BUSY_MS, `the main thread was busy ${busyMs.toFixed(1)} ms without yielding`);
  // Counted, not skipped: the ledger has an estimate of about 50,000 tokens for each side.
  gw.node.usage.flush();
  const row = gw.node.db.prepare('SELECT prompt_tokens, completion_tokens, usage_source FROM usage_ledger ORDER BY id DESC LIMIT 1').get() as {
    prompt_tokens: number;
    completion_tokens: number;
    usage_source: string;
  };
  assert.equal(row.usage_source, 'estimated');
  assert.ok(row.prompt_tokens > 10_000 && row.completion_tokens > 10_000, JSON.stringify(row));
});
