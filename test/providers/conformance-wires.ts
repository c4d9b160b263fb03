// One scripted upstream per provider for the conformance table: the same answer (text, tool calls, usage, an error)
// written in each provider's own wire format by its wire-faithful fake.
import type { ServerResponse } from 'node:http';
import { providers, type Provider, type ProviderAccount } from '../../src/providers/index.ts';
import { startFakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { googleError, startFakeGemini, type FakeGeminiReply } from '../fakes/gemini.ts';
import { openaiError, startFakeOpenAI, validateChatRequest, type FakeAuth, type ReceivedRequest } from '../fakes/openai.ts';

export interface ToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}
export type ErrorKind = 'rate_limit' | 'auth' | 'bad_request' | 'server' | 'context_length';
export type Script =
  | { text: string; usage: { prompt: number; completion: number } }
  | { calls: ToolCall[]; usage: { prompt: number; completion: number } }
  | { error: ErrorKind };

export interface Wire {
  provider: Provider;
  account: ProviderAccount;
  /** What the next request gets, in this provider's wire format (JSON or its stream, as the request asks). */
  script(s: Script): void;
  close(): Promise<void>;
}

const TIMEOUTS = { connectMs: 2000, firstByteMs: 5000, totalMs: 10000 };
const account = (type: string, baseUrl: string, key: string | undefined): ProviderAccount => ({
  name: `conformance-${type}`,
  type,
  baseUrl,
  key,
  headers: {},
  timeouts: TIMEOUTS,
});

/** Splits a string in two, as upstreams split deltas, so reassembly is exercised. */
const halves = (s: string) => (s.length > 1 ? [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))] : [s]);

function sse(res: ServerResponse, events: unknown[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
  res.end('data: [DONE]\n\n');
}

/** OpenAI's chat completions wire, shared by openai, azure and local (each fake with its own auth). */
function replyOpenAI(s: Script, req: ReceivedRequest, res: ServerResponse): void {
  const b = req.body;
  const invalid = validateChatRequest(b);
  if (invalid) return openaiError(res, 400, invalid);
  if ('error' in s) {
    const errors: Record<ErrorKind, [number, string, string, string | null, Record<string, string>?]> = {
      rate_limit: [429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded', { 'retry-after': '1' }],
      auth: [401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'],
      bad_request: [400, "Invalid value for 'temperature': expected a number.", 'invalid_request_error', null],
      server: [500, 'The server had an error while processing your request.', 'server_error', null],
      context_length: [400, "This model's maximum context length is 128000 tokens.", 'invalid_request_error', 'context_length_exceeded'],
    };
    const [status, message, type, code, headers] = errors[s.error];
    return openaiError(res, status, message, type, code, headers);
  }
  const usage = { prompt_tokens: s.usage.prompt, completion_tokens: s.usage.completion, total_tokens: s.usage.prompt + s.usage.completion };
  const base = { id: 'chatcmpl-wire', created: 1700000000, model: b.model };
  const calls = 'calls' in s ? s.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })) : undefined;
  const finish = calls ? 'tool_calls' : 'stop';
  if (!b.stream) {
    const message = calls ? { role: 'assistant', content: null, tool_calls: calls } : { role: 'assistant', content: (s as { text: string }).text };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage }));
    return;
  }
  const chunk = (delta: unknown, finish_reason: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason }],
  });
  const events: unknown[] = [chunk({ role: 'assistant', content: calls ? null : '' })];
  if (calls) {
    calls.forEach((c, index) => {
      events.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
      for (const piece of halves(c.function.arguments)) events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
  } else for (const piece of halves((s as { text: string }).text)) events.push(chunk({ content: piece }));
  events.push(chunk({}, finish));
  if (b.stream_options?.include_usage) events.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
  sse(res, events);
}

async function openaiFamily(type: 'openai' | 'azure' | 'local', auth: FakeAuth): Promise<Wire> {
  let next: Script = { text: '', usage: { prompt: 0, completion: 0 } };
  const fake = await startFakeOpenAI(
    (req, res) => {
      replyOpenAI(next, req, res);
      return true;
    },
    { auth },
  );
  const baseUrl = type === 'azure' ? fake.url.replace(/\/v1$/, '') : fake.url;
  return {
    provider: providers[type]!,
    account: account(type, baseUrl, type === 'local' ? undefined : `key-${type}-0123456789`),
    script: (s) => {
      next = s;
    },
    close: () => fake.close(),
  };
}

async function anthropicWire(): Promise<Wire> {
  let next: Script = { text: '', usage: { prompt: 0, completion: 0 } };
  const reply = (): FakeReply => {
    const s = next;
    if ('error' in s) {
      const errors: Record<ErrorKind, FakeReply> = {
        rate_limit: {
          status: 429,
          errorType: 'rate_limit_error',
          errorMessage: 'Number of request tokens has exceeded your per-minute rate limit',
          headers: { 'retry-after': '1' },
        },
        auth: { status: 401, errorType: 'authentication_error', errorMessage: 'invalid x-api-key' },
        bad_request: { status: 400, errorType: 'invalid_request_error', errorMessage: 'temperature: Input should be a valid number' },
        server: { status: 500, errorType: 'api_error', errorMessage: 'Internal server error' },
        context_length: { status: 400, errorType: 'invalid_request_error', errorMessage: 'prompt is too long: 200001 tokens > 200000 maximum' },
      };
      return errors[s.error];
    }
    const content = 'calls' in s ? s.calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args })) : [{ type: 'text', text: s.text }];
    return { message: { content, usage: { input_tokens: s.usage.prompt, output_tokens: s.usage.completion } } };
  };
  const fake = await startFakeAnthropic(reply);
  return {
    provider: providers.anthropic!,
    account: account('anthropic', fake.url, 'sk-ant-conformance-0123456789'),
    script: (s) => {
      next = s;
    },
    close: () => fake.close(),
  };
}

async function geminiWire(): Promise<Wire> {
  let next: Script = { text: '', usage: { prompt: 0, completion: 0 } };
  const reply = (streaming: boolean): FakeGeminiReply => {
    const s = next;
    if ('error' in s) {
      const errors: Record<ErrorKind, ReturnType<typeof googleError>> = {
        rate_limit: googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
        ]),
        auth: googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' },
        ]),
        bad_request: googleError(400, 'INVALID_ARGUMENT', 'Invalid value at \'generation_config.temperature\' (TYPE_FLOAT), "hot"'),
        server: googleError(
          500,
          'INTERNAL',
          'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
        ),
        context_length: googleError(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).'),
      };
      return errors[s.error];
    }
    const usageMetadata = { promptTokenCount: s.usage.prompt, candidatesTokenCount: s.usage.completion, totalTokenCount: s.usage.prompt + s.usage.completion };
    const parts = 'calls' in s ? s.calls.map((c) => ({ functionCall: { name: c.name, args: c.args } })) : halves(s.text).map((text) => ({ text }));
    if (!streaming) return { json: { candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }], usageMetadata } };
    // Text arrives in pieces; a function call arrives whole, in one event, as Gemini sends it.
    const pieces = 'calls' in s ? [parts] : parts.map((p) => [p]);
    return {
      sse: pieces.map((p, i) => ({
        candidates: [{ content: { role: 'model', parts: p }, index: 0, ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}) }],
        ...(i === pieces.length - 1 ? { usageMetadata } : {}),
      })),
    };
  };
  const fake = await startFakeGemini((call) => reply(call.method === 'streamGenerateContent'));
  return {
    provider: providers.gemini!,
    account: account('gemini', fake.url, 'AIza-conformance-0123456789'),
    script: (s) => {
      next = s;
    },
    close: () => fake.close(),
  };
}

/** Every built-in provider type, each against its own fake. */
export const WIRES: Record<string, () => Promise<Wire>> = {
  openai: () => openaiFamily('openai', 'openai'),
  azure: () => openaiFamily('azure', 'azure'),
  local: () => openaiFamily('local', 'none'),
  anthropic: anthropicWire,
  gemini: geminiWire,
};
