// A Pi's model server for the field test: a tiny OpenAI-compatible server (GET /v1/models, POST /v1/chat/completions,
// JSON and SSE) on the port the shipped config points at, inside the Pi's namespace. Its answers name the host, so the
// test can tell whose model answered. `--chat-status 503` plays a server still loading its model: the health probe
// passes, every chat fails. Usage: fake-model.ts --port 8080 --name pi-2 [--chat-status 503]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, name: { type: 'string' }, 'chat-status': { type: 'string' } } });
const name = values.name ?? 'model';
const chatStatus = Number(values['chat-status'] ?? 200);

const json = (res: import('node:http').ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (req.method === 'GET' && req.url === '/v1/models') {
    json(res, 200, { object: 'list', data: [{ id: 'llama3.2:1b', object: 'model', created: 0, owned_by: name }] });
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    json(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
    return;
  }
  if (chatStatus !== 200) {
    json(res, chatStatus, { error: { code: chatStatus, message: 'Loading model', type: 'unavailable_error' } });
    return;
  }
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; stream?: boolean; messages: { role: string; content: string }[] };
  const question = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  const words = [`${name}'s`, ' model', ' answers:', ` ${question}`];
  const base = { id: 'chatcmpl-field', created: Math.floor(Date.now() / 1000), model: body.model };
  if (!body.stream) {
    json(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 8, completion_tokens: words.length, total_tokens: 8 + words.length },
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [i, w] of words.entries()) {
    const delta = i === 0 ? { role: 'assistant', content: w } : { content: w };
    res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
  }
  res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  res.end('data: [DONE]\n\n');
});

server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`fake model of ${name} listening on ${values.port}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
