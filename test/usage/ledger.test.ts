// The usage ledger seen through a real node: one row per request for answers, streams, errors and cache hits, and the reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, openaiError, writeChatStream, type FakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, type TestNode } from '../helpers.ts';

let fake: FakeOpenAI;
let gw: TestNode;

before(async () => {
  fake = await startFakeOpenAI();
  gw = await startTestNode(`
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-test
      url: ${fake.url}
`);
});

after(async () => {
  await gw.stop();
  await fake.close();
});

async function post(body: Record<string, unknown>) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  await res.text();
  return { status: res.status, id: res.headers.get('x-request-id')!, headers: res.headers };
}

function rowOf(requestId: string): any {
  gw.node.usage.flush();
  return gw.node.db.prepare('SELECT * FROM usage_ledger WHERE request_id = ?').get(requestId);
}

test('a JSON answer is recorded with provider usage, the price table cost, target, provider and latency', async () => {
  const { id } = await post({ messages: [{ role: 'user', content: 'price me' }] });
  const row = rowOf(id);
  assert.equal(row.chain, 'default');
  assert.equal(row.target, 'default/openai/gpt-4o-mini');
  assert.equal(row.provider, 'openai');
  assert.equal(row.model, 'gpt-4o-mini');
  assert.equal(row.prompt_tokens, 5);
  assert.equal(row.completion_tokens, 2);
  assert.equal(row.usage_source, 'provider');
  assert.equal(row.cost, (5 * 0.15 + 2 * 0.6) / 1e6);
  assert.equal(row.status, 200);
  assert.equal(row.cache, 'bypass');
  assert.equal(row.stream, 0);
  assert.ok(row.latency_ms > 0 && row.first_byte_ms > 0);
  assert.match(row.fingerprint, /^[0-9a-f]{16}$/);
});

test('a stream is recorded with the usage the gateway asked the provider for, though the client did not', async () => {
  const { id } = await post({ stream: true, messages: [{ role: 'user', content: 'stream usage' }] });
  const row = rowOf(id);
  assert.equal(row.stream, 1);
  assert.equal(row.usage_source, 'provider');
  assert.equal(row.completion_tokens, 3);
  assert.ok(row.first_byte_ms <= row.latency_ms);
});

test('a stream without provider usage is counted with the tokenizer and marked estimated', async () => {
  fake.handler = (req, res) => {
    writeChatStream(res, 'gpt-4o-mini', ['hello', ' there', ' friend'], false);
    return req !== null;
  };
  try {
    const { id } = await post({ stream: true, messages: [{ role: 'user', content: 'no usage please' }] });
    const row = rowOf(id);
    assert.equal(row.usage_source, 'estimated');
    assert.equal(row.completion_tokens, 3);
    assert.ok(row.prompt_tokens >= 4);
    assert.ok(row.cost > 0);
  } finally {
    fake.handler = null;
  }
});

test('an error is recorded with its status, code and the target that failed', async () => {
  fake.handler = (_req, res) => {
    openaiError(res, 500, 'boom', 'server_error');
    return true;
  };
  try {
    const { status } = await post({ messages: [{ role: 'user', content: 'fail' }] });
    assert.equal(status, 502);
    // Error replies carry no x-request-id: the newest row is this request's.
    gw.node.usage.flush();
    const row: any = gw.node.db.prepare('SELECT * FROM usage_ledger ORDER BY id DESC LIMIT 1').get();
    assert.equal(row.status, 502);
    assert.equal(row.error_code, 'all_targets_failed');
    assert.equal(row.target, 'default/openai/gpt-4o-mini');
    assert.equal(row.usage_source, 'none');
  } finally {
    fake.handler = null;
  }
});

test('a cache hit is recorded as a hit that cost nothing and saved the whole call', async () => {
  const body = { temperature: 0, messages: [{ role: 'user', content: 'hit me' }] };
  await post(body);
  const { id, headers } = await post(body);
  assert.equal(headers.get('x-flowrouter-cache'), 'hit');
  const row = rowOf(id);
  assert.equal(row.cache, 'hit');
  assert.equal(row.cost, 0);
  assert.equal(row.cost_saved, (5 * 0.15 + 2 * 0.6) / 1e6);
  assert.equal(row.tokens_saved, 7);
});

test('tokens saved by normalization are recorded, and the same template with other numbers shares a fingerprint', async () => {
  const a = await post({
    messages: [
      { role: 'system', content: 'You   are   terse.\n\n\n\n\nAnswer.' },
      { role: 'user', content: 'order 1234 "red   shoes"' },
    ],
  });
  const b = await post({
    messages: [
      { role: 'system', content: 'You are terse.\n\nAnswer.' },
      { role: 'user', content: 'order 98 "blue hat"' },
    ],
  });
  const c = await post({
    messages: [
      { role: 'system', content: 'You are verbose.' },
      { role: 'user', content: 'order 98 "blue hat"' },
    ],
  });
  assert.ok(rowOf(a.id).tokens_saved > 0);
  assert.equal(Number(a.headers.get('x-flowrouter-tokens-saved')), rowOf(a.id).tokens_saved);
  assert.equal(rowOf(b.id).tokens_saved, 0);
  assert.equal(rowOf(a.id).fingerprint, rowOf(b.id).fingerprint);
  assert.notEqual(rowOf(b.id).fingerprint, rowOf(c.id).fingerprint);
});

test('GET /v1/usage groups totals by model, target and day, and validates its query', async () => {
  const byModel = (await (await fetch(`${gw.baseURL}/usage?by=model`)).json()) as any;
  gw.node.usage.flush();
  const total = (gw.node.db.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n;
  const row = byModel.data.find((r: any) => r.key === 'gpt-4o-mini');
  assert.equal(row.requests, total);
  assert.ok(row.cache_hits >= 1 && row.errors >= 1 && row.tokens_saved > 0);
  const byDay = (await (await fetch(`${gw.baseURL}/usage?by=day`)).json()) as any;
  assert.equal(byDay.data[0].key, new Date().toISOString().slice(0, 10));
  const future = (await (await fetch(`${gw.baseURL}/usage?by=target&from=${Date.now() + 60_000}`)).json()) as any;
  assert.deepEqual(future.data, []);
  const bad = await fetch(`${gw.baseURL}/usage?by=planet`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.param, 'by');
});

test('GET /v1/usage/export.csv gives one billing line per client, day and model', async () => {
  const res = await fetch(`${gw.baseURL}/usage/export.csv`);
  assert.match(res.headers.get('content-type') ?? '', /text\/csv/);
  const lines = (await res.text()).trim().split('\n');
  assert.equal(lines[0], 'day,client,model,requests,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,cache_hits,cost_usd');
  const [day, client, model, requests] = lines[1].split(',');
  assert.equal(day, new Date().toISOString().slice(0, 10));
  assert.equal(client, '');
  assert.equal(model, 'gpt-4o-mini');
  assert.ok(Number(requests) >= 8);
});

test('a stream the client abandons is recorded as 499 with the tokens it got so far', async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  fake.handler = async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ id: 'a', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { role: 'assistant', content: 'first words' }, finish_reason: null }] })}\n\n`,
    );
    await held;
    res.end();
    return req !== null;
  };
  try {
    const ac = new AbortController();
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'abandon' }] }),
    });
    const id = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    let row: any;
    const deadline = Date.now() + 5000;
    while (!(row = rowOf(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(row.status, 499);
    assert.equal(row.error_code, 'client_closed_request');
    assert.equal(row.usage_source, 'estimated');
    assert.equal(row.completion_tokens, 2);
  } finally {
    release();
    fake.handler = null;
  }
});
