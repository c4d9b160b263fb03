// A wire-faithful fake of the Gemini API (v1beta) on 127.0.0.1: validates requests as Google does, replies as scripted.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkInlineTypes, checkSignatures, checkThinkingConfig, signaturesIn } from './gemini-checks.ts';

export interface FakeGeminiCall {
  method: string;
  model: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: any;
}

export type FakeGeminiReply =
  | { json: unknown; status?: number }
  /** Each event is sent as one `data: {...}\r\n\r\n` line (or, without `alt=sse`, all as one JSON array). */
  | { sse: unknown[] };

export type FakeGeminiHandler = (call: FakeGeminiCall) => FakeGeminiReply | undefined;

export interface FakeGemini {
  /** Base URL including `/v1beta`, as configured for an account. */
  url: string;
  /** Every request that passed validation, in order. */
  requests: FakeGeminiCall[];
  /** Requests refused by validation, with Google's message. */
  rejected: { path: string; message: string }[];
  close(): Promise<void>;
}

/** A Google-shaped error reply. */
export function googleError(
  code: number,
  status: string,
  message: string,
  details?: unknown[],
): { status: number; json: { error: { code: number; message: string; status: string; details?: unknown[] } } } {
  return { status: code, json: { error: { code, message, status, ...(details ? { details } : {}) } } };
}

export function textResponse(text: string, finishReason = 'STOP'): Record<string, unknown> {
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason, index: 0 }],
    usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 5, totalTokenCount: 12 },
    modelVersion: 'gemini-fake',
  };
}

class Invalid extends Error {}

const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent']);
const GENERATION = new Set([
  'stopSequences',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'responseModalities',
  'candidateCount',
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseLogprobs',
  'logprobs',
  'enableEnhancedCivicAnswers',
  'speechConfig',
  'thinkingConfig',
  'mediaResolution',
]);
const PART = new Set([
  'text',
  'thought',
  'thoughtSignature',
  'inlineData',
  'fileData',
  'functionCall',
  'functionResponse',
  'executableCode',
  'codeExecutionResult',
]);
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];
/** The fields of Google's `Schema` message; anything else is an unknown name. */
const SCHEMA = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'anyOf',
  'propertyOrdering',
  'default',
  'items',
  'minimum',
  'maximum',
]);
const TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);

function unknownNames(obj: Record<string, unknown>, allowed: Set<string>, at: string): void {
  for (const k of Object.keys(obj))
    if (!allowed.has(k)) throw new Invalid(`Invalid JSON payload received. Unknown name "${k}"${at ? ` at '${at}'` : ''}: Cannot find field.`);
}

function checkSchema(s: any, at: string): void {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Invalid(`Invalid value at '${at}': expected a Schema object`);
  unknownNames(s, SCHEMA, at);
  if (s.type !== undefined && !TYPES.has(s.type))
    throw new Invalid(`Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "${s.type}"`);
  if (s.properties) for (const [k, v] of Object.entries(s.properties)) checkSchema(v, `${at}.properties[${k}].value`);
  if (s.items) checkSchema(s.items, `${at}.items`);
  if (s.anyOf) for (const [i, b] of (s.anyOf as unknown[]).entries()) checkSchema(b, `${at}.any_of[${i}]`);
}

function checkGenerate(body: any): void {
  unknownNames(body, TOP_LEVEL, '');
  if (!Array.isArray(body.contents) || body.contents.length === 0) throw new Invalid('* GenerateContentRequest.contents: contents is not specified');
  body.contents.forEach((c: any, i: number) => {
    if (c.role !== 'user' && c.role !== 'model') throw new Invalid('Please use a valid role: user, model.');
    if (i > 0 && body.contents[i - 1].role === c.role) throw new Invalid(`contents[${i}]: consecutive contents must alternate between user and model roles`);
    if (!Array.isArray(c.parts) || c.parts.length === 0) throw new Invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
    c.parts.forEach((p: any, j: number) => {
      unknownNames(p, PART, `contents[${i}].parts[${j}]`);
      if (PART_DATA.filter((k) => p[k] !== undefined).length !== 1) throw new Invalid(`contents[${i}].parts[${j}]: exactly one data field must be set`);
      if (p.functionCall && !p.functionCall.name)
        throw new Invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].function_call.name: Name cannot be empty.`);
      if (p.functionResponse && !p.functionResponse.name)
        throw new Invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].function_response.name: Name cannot be empty.`);
      if (p.functionResponse && (typeof p.functionResponse.response !== 'object' || Array.isArray(p.functionResponse.response))) {
        throw new Invalid(`contents[${i}].parts[${j}].function_response.response: must be a JSON object`);
      }
      if (p.inlineData && (!p.inlineData.mimeType || !p.inlineData.data))
        throw new Invalid(`contents[${i}].parts[${j}].inline_data: mimeType and data are required`);
      if (p.fileData && (!p.fileData.mimeType || !p.fileData.fileUri))
        throw new Invalid(`contents[${i}].parts[${j}].file_data: mimeType and fileUri are required`);
    });
  });
  if (body.systemInstruction) {
    const parts = body.systemInstruction.parts;
    if (!Array.isArray(parts) || parts.some((p: any) => typeof p.text !== 'string')) throw new Invalid('systemInstruction.parts: text parts expected');
  }
  for (const [t, tool] of (body.tools ?? []).entries()) {
    for (const [d, decl] of (tool.functionDeclarations ?? []).entries()) {
      const at = `tools[${t}].function_declarations[${d}]`;
      unknownNames(decl, new Set(['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'behavior']), at);
      if (!decl.name) throw new Invalid(`* GenerateContentRequest.${at}.name: Name cannot be empty.`);
      if (decl.parameters) {
        checkSchema(decl.parameters, `${at}.parameters`);
        if (decl.parameters.type === 'OBJECT' && !Object.keys(decl.parameters.properties ?? {}).length) {
          throw new Invalid(`* GenerateContentRequest.${at}.parameters.properties: should be non-empty for OBJECT type`);
        }
      }
    }
  }
  const fcc = body.toolConfig?.functionCallingConfig;
  if (fcc && !['AUTO', 'ANY', 'NONE', 'VALIDATED'].includes(fcc.mode))
    throw new Invalid(`Invalid value at 'tool_config.function_calling_config.mode', "${fcc.mode}"`);
  if (fcc?.allowedFunctionNames && fcc.mode !== 'ANY') throw new Invalid('allowed_function_names may be set only when mode is ANY');
  if (body.generationConfig) {
    unknownNames(body.generationConfig, GENERATION, 'generation_config');
    if (body.generationConfig.responseSchema) checkSchema(body.generationConfig.responseSchema, 'generation_config.response_schema');
  }
}

function checkEmbed(body: any, model: string): void {
  unknownNames(body, new Set(['requests']), '');
  if (!Array.isArray(body.requests) || body.requests.length === 0) throw new Invalid('* BatchEmbedContentsRequest.requests: requests is not specified');
  body.requests.forEach((r: any, i: number) => {
    unknownNames(r, new Set(['model', 'content', 'taskType', 'title', 'outputDimensionality']), `requests[${i}]`);
    if (r.model !== `models/${model}`) throw new Invalid(`* BatchEmbedContentsRequest.requests[${i}].model: model must be models/${model}`);
    if (!Array.isArray(r.content?.parts) || r.content.parts.some((p: any) => typeof p.text !== 'string'))
      throw new Invalid(`requests[${i}].content: text parts expected`);
  });
}

function defaultReply(call: FakeGeminiCall): FakeGeminiReply {
  if (call.method === 'batchEmbedContents') {
    return { json: { embeddings: call.body.requests.map((_: unknown, i: number) => ({ values: [i, 0.5, -0.25] })) } };
  }
  if (call.method === 'streamGenerateContent') {
    return {
      sse: [
        { candidates: [{ content: { role: 'model', parts: [{ text: 'Hello' }] }, index: 0 }] },
        { ...textResponse(' from Gemini.'), usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 4, totalTokenCount: 11 } },
      ],
    };
  }
  return { json: textResponse('Hello from Gemini.') };
}

function send(res: ServerResponse, reply: FakeGeminiReply, sse: boolean): void {
  if ('json' in reply) {
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(reply.json));
  } else if (sse) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const ev of reply.sse) res.write(`data: ${JSON.stringify(ev)}\r\n\r\n`);
    res.end();
  } else {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(reply.sse));
  }
}

export async function startFakeGemini(handler?: FakeGeminiHandler): Promise<FakeGemini> {
  const requests: FakeGeminiCall[] = [];
  const rejected: FakeGemini['rejected'] = [];
  /** Thought signatures this fake handed out; only these (and Google's skip value) are valid in later requests. */
  const issued = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const fail = (reply: ReturnType<typeof googleError>) => {
        rejected.push({ path: url.pathname, message: reply.json.error.message });
        send(res, reply, false);
      };
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(url.pathname);
      if (req.method !== 'POST' || !m) return fail(googleError(404, 'NOT_FOUND', `Method not found: ${req.method} ${url.pathname}`));
      // The real API would accept ?key=; refusing it here proves the provider never puts the key in a URL.
      if (url.searchParams.has('key')) return fail(googleError(400, 'INVALID_ARGUMENT', 'API key must be sent in the x-goog-api-key header, not the URL'));
      if (!req.headers['x-goog-api-key']) {
        return fail(
          googleError(
            403,
            'PERMISSION_DENIED',
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          ),
        );
      }
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
      }
      const call: FakeGeminiCall = { method: m[2], model: decodeURIComponent(m[1]), query: url.searchParams, headers: req.headers, body };
      try {
        if (call.method === 'batchEmbedContents') checkEmbed(body, call.model);
        else checkGenerate(body);
      } catch (err) {
        if (err instanceof Invalid) return fail(googleError(400, 'INVALID_ARGUMENT', err.message));
        throw err;
      }
      const problem =
        call.method === 'batchEmbedContents'
          ? null
          : (checkSignatures(body, call.model, issued) ?? checkThinkingConfig(body, call.model) ?? checkInlineTypes(body));
      if (problem) return fail(googleError(400, 'INVALID_ARGUMENT', problem));
      requests.push(call);
      const reply = handler?.(call) ?? defaultReply(call);
      signaturesIn(reply, issued);
      send(res, reply, call.query.get('alt') === 'sse');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1beta`,
    requests,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
