// POST /v1/responses passed through to targets with `api: responses` (OpenAI and Azure), as deployed: the openai SDK
// against the real server and a fake that refuses what OpenAI refuses a caller that stores nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.ts';
import { fakeEncrypted, fullResponse, responseEvents, type ResponsesScript } from '../fakes/openai-responses.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { postSse } from './sse.ts';

let oa: FakeOpenAI;
let az: FakeOpenAI;
let gw: TestNode;
let client: OpenAI;

before(async () => {
  oa = await startFakeOpenAI(null, { auth: 'openai' });
  az = await startFakeOpenAI(null, { auth: 'azure' });
  gw = await startTestNode(`
chains:
  native:
    - { model: gpt-5, provider: openai, key: sk-test-0123456789abcdef, url: "${oa.url}", api: responses }
  chat-only:
    - { model: gpt-5, provider: openai, key: sk-test-0123456789abcdef, url: "${oa.url}" }
  azure:
    - { model: gpt-5, provider: azure, key: azure-key-0123456789, url: "${az.url.replace(/\/v1$/, '')}", deployment: my-gpt5, api: responses }
`);
  client = new OpenAI({ apiKey: 'any', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw.stop();
  await Promise.all([oa.close(), az.close()]);
});

test("the client's body reaches a Responses target as sent but stateless: model swapped, store: false, hosted tools and new fields kept", async () => {
  oa.responsesReply = undefined;
  const body = {
    model: 'native',
    input: 'Search the news.',
    tools: [{ type: 'web_search' }],
    include: ['web_search_call.action.sources'],
    prompt_cache_key: 'k1',
    max_tool_calls: 3,
  };
  const { data, response } = await client.responses.create(body as any).withResponse();
  assert.equal(response.headers.get('x-flowrouter-passthrough'), 'true');
  assert.equal(data.output_text, 'echo: Search the news.');
  assert.match(data.id, /^resp_fake/, "the upstream's own response");
  assert.equal((data as any).store, true, 'Flow Router stored it, as the client asked');
  const sent = oa.requests.at(-1)!;
  assert.equal(sent.url, '/v1/responses');
  assert.deepEqual(sent.body, { ...body, model: 'gpt-5', store: false });
  assert.equal(
    oa.requests.some((r) => r.url.includes('/chat/completions')),
    false,
  );
});

test('a target without api: responses gets Responses clients as Chat Completions', async () => {
  const r = await client.responses.create({ model: 'chat-only', input: 'plain' });
  assert.equal(r.output_text, 'echo: plain');
  assert.equal(oa.requests.at(-1)!.url, '/v1/chat/completions');
});

test("the upstream's answer comes back untranslated (items it alone knows included), and previous_response_id continues it statelessly", async () => {
  oa.responsesReply = () => ({
    output: [
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Think.' }], encrypted_content: fakeEncrypted('think') },
      { type: 'web_search_call', action: { type: 'search', query: 'news' } },
      {
        type: 'message',
        role: 'assistant',
        content: [
          {
            type: 'output_text',
            text: 'Found it.',
            annotations: [{ type: 'url_citation', url: 'https://example.com', start_index: 0, end_index: 5, title: 'Ex' }],
          },
        ],
      },
    ],
    extra: { service_tier: 'default' },
  });
  const first = await client.responses.create({
    model: 'native',
    input: 'news?',
    include: ['reasoning.encrypted_content'],
    tools: [{ type: 'web_search' } as any],
  });
  assert.deepEqual(
    first.output.map((o) => o.type),
    ['reasoning', 'web_search_call', 'message'],
  );
  assert.equal((first as any).service_tier, 'default');
  assert.equal((first.output[2] as any).content[0].annotations[0].type, 'url_citation');

  oa.responsesReply = undefined;
  const plain = await client.responses.create({ model: 'native', input: 'no encrypted reasoning' });
  assert.equal(plain.output_text, 'echo: no encrypted reasoning');
  oa.responsesReply = () => ({
    output: [
      { type: 'reasoning', summary: [] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x', annotations: [] }] },
    ],
  });
  const unencrypted = await client.responses.create({ model: 'native', input: 'reasoning without encrypted content' });
  oa.responsesReply = undefined;

  const second = await client.responses.create({ model: 'native', previous_response_id: first.id, input: 'and then?' });
  assert.equal(second.previous_response_id, first.id);
  const sent = oa.requests.at(-1)!.body;
  assert.equal('previous_response_id' in sent, false);
  assert.equal(sent.store, false);
  assert.deepEqual(
    sent.input.map((i: any) => i.type ?? i.role),
    ['message', 'reasoning', 'web_search_call', 'message', 'user'],
  );
  assert.equal(sent.input[1].encrypted_content, fakeEncrypted('think'));

  // Reasoning an upstream that keeps nothing cannot read back is left out rather than refused.
  const third = await client.responses.create({ model: 'native', previous_response_id: unencrypted.id, input: 'go on' });
  assert.equal(third.status, 'completed');
  assert.deepEqual(
    oa.requests.at(-1)!.body.input.map((i: any) => i.type ?? i.role),
    ['message', 'message', 'user'],
  );
});

test("golden: a passed-through stream is the upstream's own events, with the fields Flow Router answers for set, and is stored", async () => {
  const script: ResponsesScript = {
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Streamed answer', annotations: [] }] }],
    extraEvents: [{ type: 'response.new_event_kind', detail: 'from the future' }],
  };
  oa.responsesReply = () => script;
  const r = await postSse(`${gw.baseURL}/responses`, { model: 'native', input: 'stream it', stream: true });
  assert.equal(r.headers.get('x-flowrouter-passthrough'), 'true');
  const upstream = responseEvents(fullResponse({ model: 'gpt-5', input: 'stream it', store: false }, script), script.extraEvents);
  assert.deepEqual(
    r.events.map((e) => e.event),
    upstream.map((e) => e.type),
  );
  const deltas = r.events.filter((e) => e.event === 'response.output_text.delta');
  assert.deepEqual(
    deltas.map((e) => e.json.delta),
    ['Streamed', ' answer'],
  );
  assert.ok(r.events.some((e) => e.event === 'response.new_event_kind' && e.json.detail === 'from the future'));
  const done = r.events.at(-1)!.json.response;
  assert.deepEqual([done.store, done.previous_response_id], [true, null], 'the upstream said store: false; Flow Router stored it');
  const kept = await client.responses.retrieve(done.id);
  assert.equal(kept.output_text, 'Streamed answer');
  // The SDK's accumulator refuses event types it does not know, as it would from OpenAI itself: read it without one.
  oa.responsesReply = () => ({
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Streamed answer', annotations: [] }] }],
  });
  const viaSdk = await client.responses.stream({ model: 'native', input: 'again' }).finalResponse();
  assert.equal(viaSdk.output_text, 'Streamed answer');
  oa.responsesReply = undefined;
});

test("an upstream failure after the first byte of a passed-through stream ends it with the Responses API's error event", async () => {
  oa.handler = (req, res) => {
    if (!req.url.endsWith('/responses')) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const shell = fullResponse(req.body, { output: [] });
    res.write(
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...shell, status: 'in_progress' } })}\n\n`,
    );
    res.end(
      `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 1, response: { ...shell, status: 'failed', error: { code: 'server_error', message: 'upstream fell over' } } })}\n\n`,
    );
    return true;
  };
  const r = await postSse(`${gw.baseURL}/responses`, { model: 'native', input: 'x', stream: true });
  assert.deepEqual(
    r.events.map((e) => e.event),
    ['response.created', 'error'],
  );
  assert.deepEqual([r.events[1].json.sequence_number, r.events[1].json.code], [1, 'server_error']);
  assert.match(r.events[1].json.message, /upstream fell over/);
  oa.handler = null;
});

test('an Azure target with api: responses is called on its v1 surface with the deployment as the model', async () => {
  const r = await client.responses.create({ model: 'azure', input: 'hello azure' });
  assert.equal(r.output_text, 'echo: hello azure');
  const sent = az.requests.at(-1)!;
  assert.equal(sent.url, '/openai/v1/responses');
  assert.equal(sent.headers['api-key'], 'azure-key-0123456789');
  assert.equal(sent.body.model, 'my-gpt5');
});
