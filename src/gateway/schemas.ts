// JSON schemas for request bodies: compiled once by fastify (ajv), so validation costs microseconds per request.
/** Model names go into headers and logs: no control characters. */
const MODEL = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' } as const;

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'image_url', 'input_audio', 'file', 'refusal'] },
    text: { type: 'string' },
    image_url: {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', minLength: 1 }, detail: { type: 'string', enum: ['auto', 'low', 'high'] } },
    },
  },
} as const;

const toolCall = {
  type: 'object',
  required: ['id', 'type', 'function'],
  properties: {
    id: { type: 'string', minLength: 1 },
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      required: ['name', 'arguments'],
      properties: { name: { type: 'string', minLength: 1 }, arguments: { type: 'string' } },
    },
  },
} as const;

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ROLES },
    content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', maxItems: 1000, items: contentPart }] },
    name: { type: 'string' },
    tool_calls: { type: 'array', maxItems: 1000, items: toolCall },
    tool_call_id: { type: 'string' },
  },
} as const;

const tool = {
  type: 'object',
  required: ['type', 'function'],
  properties: {
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 128 },
        description: { type: 'string' },
        parameters: { type: 'object' },
        strict: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
      },
    },
  },
} as const;

const stop = { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', maxItems: 16, items: { type: 'string' } }] };

export const chatBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: MODEL,
    messages: { type: 'array', minItems: 1, maxItems: 100_000, items: message },
    stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    stream_options: { anyOf: [{ type: 'null' }, { type: 'object', properties: { include_usage: { type: 'boolean' } } }] },
    temperature: { anyOf: [{ type: 'number', minimum: 0, maximum: 2 }, { type: 'null' }] },
    top_p: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
    n: { anyOf: [{ type: 'integer', minimum: 1, maximum: 128 }, { type: 'null' }] },
    max_tokens: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    max_completion_tokens: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    stop,
    seed: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    user: { type: 'string' },
    presence_penalty: { anyOf: [{ type: 'number', minimum: -2, maximum: 2 }, { type: 'null' }] },
    frequency_penalty: { anyOf: [{ type: 'number', minimum: -2, maximum: 2 }, { type: 'null' }] },
    logprobs: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    top_logprobs: { anyOf: [{ type: 'integer', minimum: 0, maximum: 20 }, { type: 'null' }] },
    tools: { type: 'array', maxItems: 512, items: tool },
    tool_choice: {
      anyOf: [
        { type: 'string', enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type', 'function'],
          properties: {
            type: { type: 'string', enum: ['function'] },
            function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
      ],
    },
    parallel_tool_calls: { type: 'boolean' },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string' }, schema: { type: 'object' }, strict: { anyOf: [{ type: 'boolean' }, { type: 'null' }] } },
        },
      },
    },
    metadata: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: { type: 'string' } }] },
    flowrouter: { type: 'object' },
  },
} as const;

export const embeddingsBodySchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: MODEL,
    input: {
      anyOf: [
        { type: 'string' },
        {
          type: 'array',
          minItems: 1,
          maxItems: 2048,
          items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
        },
      ],
    },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

export const completionsBodySchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    model: MODEL,
    prompt: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string' } }] },
    stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    max_tokens: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    temperature: { anyOf: [{ type: 'number', minimum: 0, maximum: 2 }, { type: 'null' }] },
    n: { anyOf: [{ type: 'integer', minimum: 1, maximum: 128 }, { type: 'null' }] },
  },
} as const;
