// /metrics counts real requests through the chat path: status, latency, first byte, tokens, cost, cache and mirrored gauges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOpsHarness, type OpsHarness } from './harness.ts';
import { createMetrics, recordRequest } from '../../src/ops/index.ts';

let h: OpsHarness;
let lag = 1.5;

before(async () => {
  h = await startOpsHarness({
    sources: {
      breakers: () => [
        { target: 'default/openai/gpt-4o-mini', state: 'closed' },
        { target: 'backup', state: 'open' },
      ],
      kb: () => ({ documents: 3, chunks: 42 }),
      mesh: () => ({ peers: 2, lagSeconds: lag }),
    },
  });
});

after(async () => {
  await h.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${h.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no line for ${series}`);
  return Number(line.slice(series.length + 1));
}

test('JSON and streamed chat requests are counted by chain, target and status, with tokens and cost', async () => {
  const json = await h.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(json.status, 200);
  await json.json();
  const stream = await h.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'yo' }], stream: true });
  assert.equal(stream.status, 200);
  await stream.text();

  const text = await scrape();
  const route = 'chain="default",target="default/openai/gpt-4o-mini"';
  assert.equal(value(text, `flowrouter_requests_total{${route},status="200"}`), 2);
  assert.equal(value(text, `flowrouter_request_duration_seconds_count{${route}}`), 2);
  assert.equal(value(text, `flowrouter_first_byte_seconds_count{${route}}`), 2);
  // JSON: 5 prompt + 2 completion; the stream's usage comes from the internal usage chunk: 5 + 3.
  assert.equal(value(text, 'flowrouter_tokens_total{model="gpt-4o-mini",client="anonymous",kind="prompt"}'), 10);
  assert.equal(value(text, 'flowrouter_tokens_total{model="gpt-4o-mini",client="anonymous",kind="completion"}'), 5);
  const cost = value(text, 'flowrouter_cost_usd_total{model="gpt-4o-mini",client="anonymous"}');
  assert.ok(Math.abs(cost - (10 * 0.15 + 5 * 0.6) / 1e6) < 1e-12, `cost ${cost}`);
  assert.equal(value(text, 'flowrouter_in_flight_requests'), 0);
});

test('a request the upstream refuses is counted under its chain with the error status', async () => {
  h.fake.handler = (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"bad","type":"invalid_request_error","code":null}}');
    return true;
  };
  try {
    const res = await h.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail' }] });
    assert.equal(res.status, 400);
  } finally {
    h.fake.handler = null;
  }
  // The chain was chosen before the upstream refused; no target answered.
  assert.equal(value(await scrape(), 'flowrouter_requests_total{chain="default",target="none",status="400"}'), 1);
});

test('a client that goes away mid-stream is counted as 499 and leaves nothing in flight', async () => {
  h.fake.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = {
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }],
    };
    const timer = setInterval(() => res.write(`data: ${JSON.stringify(chunk)}\n\n`), 20);
    res.on('close', () => clearInterval(timer));
    return true;
  };
  try {
    const ac = new AbortController();
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: ac.signal,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'endless' }], stream: true }),
    });
    await res.body!.getReader().read();
    assert.equal(value(await scrape(), 'flowrouter_in_flight_requests'), 1);
    ac.abort();
    const series = 'flowrouter_requests_total{chain="default",target="default/openai/gpt-4o-mini",status="499"}';
    const until = Date.now() + 5000;
    while (!(await scrape()).includes(series) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const text = await scrape();
    assert.equal(value(text, series), 1);
    assert.equal(value(text, 'flowrouter_in_flight_requests'), 0);
  } finally {
    h.fake.handler = null;
  }
});

test('breaker, knowledge-base, mesh and replication gauges mirror their sources at scrape time', async () => {
  lag = 4.25;
  const text = await scrape();
  assert.equal(value(text, 'flowrouter_breaker_state{target="default/openai/gpt-4o-mini"}'), 0);
  assert.equal(value(text, 'flowrouter_breaker_state{target="backup"}'), 2);
  assert.equal(value(text, 'flowrouter_kb_documents'), 3);
  assert.equal(value(text, 'flowrouter_kb_chunks'), 42);
  assert.equal(value(text, 'flowrouter_mesh_peers'), 2);
  assert.equal(value(text, 'flowrouter_replication_lag_seconds'), 4.25);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
});

test('cache outcomes and mesh forwards are counted', async () => {
  const m = createMetrics({ defaultMetrics: false });
  try {
    m.meshForwards.inc({ direction: 'out' });
    recordRequest(
      m,
      {
        requestId: 'r',
        operation: 'chat',
        chain: 'c',
        target: 't',
        attempts: 0,
        cache: 'hit',
        model: 'gpt-4o',
        client: 'a',
        status: 200,
        stream: false,
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        durationMs: 1,
        firstByteMs: 1,
        aborted: false,
      },
      () => 1,
    );
    const text = await m.registry.metrics();
    assert.equal(value(text, 'flowrouter_cache_requests_total{outcome="hit"}'), 1);
    assert.equal(value(text, 'flowrouter_mesh_forwards_total{direction="out"}'), 1);
    // A cache hit cost nothing upstream, but its tokens are still counted.
    assert.equal(value(text, 'flowrouter_cost_usd_total{model="gpt-4o",client="a"}'), 0);
    assert.equal(value(text, 'flowrouter_tokens_total{model="gpt-4o",client="a",kind="prompt"}'), 10);
    assert.doesNotMatch(text, /process_resident_memory_bytes/);
  } finally {
    m.stop();
  }
});

test('with an admin key, /metrics and /ui are refused without it in the OpenAI error shape; the gateway routes are not', async () => {
  const guarded = await startOpsHarness({ auth: '{ admin_key: admin-key-0123456789 }' });
  try {
    for (const path of ['/metrics', '/ui', '/ui/api/summary', '/ui/dashboard.js']) {
      const res = await fetch(`${guarded.url}${path}`);
      assert.equal(res.status, 401, path);
      const body = (await res.json()) as { error: { type: string; code: string } };
      assert.equal(body.error.type, 'authentication_error');
    }
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { 'x-api-key': 'admin-key-0123456789' } })).status, 200);
    // The gateway's own routes are not behind the operator guard.
    assert.equal((await fetch(`${guarded.url}/health`)).status, 200);
  } finally {
    await guarded.stop();
  }
});

test('the admin-key guard takes Bearer, x-api-key or the Basic password, and asks browsers for Basic credentials', async () => {
  const guarded = await startOpsHarness({ auth: '{ mode: required, admin_key: admin-key-0123456789 }' });
  try {
    const refused = await fetch(`${guarded.url}/ui`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic realm="flowrouter"/);
    assert.equal((await fetch(`${guarded.url}/ui`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer admin-key-0123456789' } })).status, 200);
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { 'x-api-key': 'admin-key-0123456789' } })).status, 200);
    const basic = `Basic ${Buffer.from('admin:admin-key-0123456789').toString('base64')}`;
    assert.equal((await fetch(`${guarded.url}/ui`, { headers: { authorization: basic } })).status, 200);
  } finally {
    await guarded.stop();
  }
});
