// The request pipeline's contract: each listener hears a request's end exactly once, whatever way it ends, and the
// prompt is counted at most once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk } from '../../src/core/openai.ts';
import { createContext, pipeline, type Handler, type RequestEnd } from '../../src/pipeline/index.ts';

const chunk = (content: string | null, extra: Partial<ChatChunk> = {}): ChatChunk => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: content === null ? [] : [{ index: 0, delta: { content }, finish_reason: null }],
  ...extra,
});

function context(signal = new AbortController().signal) {
  let counted = 0;
  const ctx = createContext({
    requestId: 'r',
    operation: 'chat',
    signal,
    countPrompt: () => {
      counted++;
      return 42;
    },
  });
  return { ctx, counted: () => counted };
}

/** A pipeline with one listening layer around `core`; returns what the listener heard. */
function listened(core: Handler<'chat'>) {
  const ends: RequestEnd[] = [];
  const handler = pipeline<'chat'>(
    [
      (next) => (req, ctx) => {
        ctx.tap.onEnd((e) => ends.push(e));
        return next(req, ctx);
      },
    ],
    core,
  );
  return { handler, ends };
}

const req = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

function streamOf(parts: (ChatChunk | Error)[]): Handler<'chat'> {
  return async () => ({
    kind: 'stream',
    firstByteMs: 1,
    chunks: (async function* () {
      for (const p of parts) {
        if (p instanceof Error) throw p;
        yield p;
      }
    })(),
  });
}

test('a JSON answer is heard once, complete, with its usage', async () => {
  const { handler, ends } = listened(async () => ({
    kind: 'json',
    firstByteMs: 1,
    response: { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
  }));
  await handler(req, context().ctx);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, 'complete');
  assert.equal(ends[0].usage?.total_tokens, 7);
});

test('a stream is heard once at its end, with the answer it assembled to and its usage', async () => {
  const { handler, ends } = listened(
    streamOf([chunk('Hel'), chunk('lo'), chunk(null, { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })]),
  );
  const out = await handler(req, context().ctx);
  assert.equal(ends.length, 0, 'nothing is heard before the stream is read');
  if (out.kind !== 'stream') throw new Error('expected a stream');
  for await (const _ of out.chunks) {
    /* drain */
  }
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, 'complete');
  assert.equal(ends[0].response?.object === 'chat.completion' && ends[0].response.choices[0].message.content, 'Hello');
  assert.equal(ends[0].usage?.completion_tokens, 2);
});

test('a stream that breaks is heard once as an error, with the partial answer', async () => {
  const broken = new Error('upstream broke');
  const { handler, ends } = listened(streamOf([chunk('par'), broken]));
  const out = await handler(req, context().ctx);
  if (out.kind !== 'stream') throw new Error('expected a stream');
  await assert.rejects(async () => {
    for await (const _ of out.chunks) {
      /* drain */
    }
  }, /upstream broke/);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].status, 'error');
  assert.equal(ends[0].error, broken);
  assert.equal(ends[0].response?.object === 'chat.completion' && ends[0].response.choices[0].message.content, 'par');
});

test('a consumer that gives up, even before reading anything, is heard once as aborted', async () => {
  for (const readFirst of [true, false]) {
    const { handler, ends } = listened(streamOf([chunk('a'), chunk('b')]));
    const out = await handler(req, context().ctx);
    if (out.kind !== 'stream') throw new Error('expected a stream');
    if (readFirst) await out.chunks.next();
    await out.chunks.return(undefined);
    await out.chunks.return(undefined);
    assert.equal(ends.length, 1, `read first: ${readFirst}`);
    assert.equal(ends[0].status, 'aborted');
  }
});

test('a failure before any answer is heard once as an error, or as aborted when the client left', async () => {
  const err = new Error('no target answered');
  const { handler, ends } = listened(async () => {
    throw err;
  });
  await assert.rejects(handler(req, context().ctx), /no target answered/);
  const gone = new AbortController();
  gone.abort();
  await assert.rejects(handler(req, context(gone.signal).ctx));
  assert.deepEqual(
    ends.map((e) => e.status),
    ['error', 'aborted'],
  );
  assert.equal(ends[0].error, err);
});

test('every listener is told even when one throws; the first throw surfaces', async () => {
  const heard: string[] = [];
  const handler = pipeline<'chat'>(
    [
      (next) => (r, ctx) => {
        ctx.tap.onEnd(() => {
          heard.push('outer');
          throw new Error('listener failed');
        });
        return next(r, ctx);
      },
      (next) => (r, ctx) => {
        ctx.tap.onEnd(() => {
          heard.push('inner');
        });
        return next(r, ctx);
      },
    ],
    async () => ({ kind: 'json', firstByteMs: 0, response: { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [] } }),
  );
  await assert.rejects(handler(req, context().ctx), /listener failed/);
  assert.deepEqual(heard, ['outer', 'inner']);
});

test('the prompt is counted once per request, on first use', () => {
  const { ctx, counted } = context();
  assert.equal(counted(), 0);
  assert.equal(ctx.promptTokens(), 42);
  assert.equal(ctx.promptTokens(), 42);
  assert.equal(counted(), 1);
});
