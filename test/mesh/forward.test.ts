// Forwarding chat requests to mesh peers: JSON, streaming, remote errors, hop limit, ranking, peer death, abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRouterError, UpstreamError, ClientError } from '../../src/core/errors.ts';
import type { ChatChunk, ChatRequest } from '../../src/core/openai.ts';
import { FORWARD_PROTOCOL } from '../../src/mesh/index.ts';
import type { ForwardContext, MeshNode } from '../../src/mesh/index.ts';
import { frameStream, readFrame, writeFrame } from '../../src/mesh/frames.ts';
import type { ForwardResponseFrame } from '../../src/mesh/frames.ts';
import type { ChatResult } from '../../src/providers/transport.ts';
import { addrOf, capacity, chunk, echoServe, forwardToBest, request, response as echoResponse, testMesh, waitFor } from './helpers.ts';

const opts = (extra: Record<string, unknown> = {}) => ({ requestId: 'req-1', deadlineMs: Date.now() + 10_000, ...extra });

async function knows(node: MeshNode, peer: MeshNode, model: string): Promise<void> {
  await waitFor(`a record for ${model}`, () => node.peers().find((p) => p.peerId === peer.peerId && p.capacity?.models.includes(model)));
}

test('a JSON request is answered by the peer serving the model, attributed to the sending peer under a request id of its own', {
  timeout: 20_000,
}, async () => {
  const mesh = testMesh();
  try {
    const seen: ForwardContext[] = [];
    const b = await mesh.add(
      {},
      {
        capacity: () => capacity(['model-b']),
        serveForward: async (req, ctx) => {
          seen.push(ctx);
          return echoServe('b')(req, ctx);
        },
      },
    );
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'model-b');
    const { peerId, result } = await forwardToBest(a, request('model-b'), opts());
    assert.equal(peerId, b.peerId);
    assert.equal(result.kind, 'json');
    assert.equal(result.kind === 'json' && result.response.choices[0].message.content, 'from b');
    // The frame's request id ('req-1') is the sender's claim: not used; no client identity was attached.
    assert.equal(seen[0].peerId, a.peerId);
    assert.equal(seen[0].identity, undefined);
    assert.match(seen[0].requestId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(a.status().forwards, { in: 0, inFailed: 0, out: 1, outFailed: 0 });
    assert.equal(b.status().forwards.in, 1);
  } finally {
    await mesh.close();
  }
});

test('a streaming request yields the remote chunks in order', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const b = await mesh.add({}, { capacity: () => capacity(['model-b']), serveForward: echoServe('b') });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'model-b');
    const { result } = await forwardToBest(a, request('model-b', true), opts());
    assert.equal(result.kind, 'stream');
    const texts: string[] = [];
    if (result.kind === 'stream') for await (const c of result.chunks) texts.push(String(c.choices[0].delta.content));
    assert.deepEqual(texts, ['a', 'b', 'c']);
  } finally {
    await mesh.close();
  }
});

test('a client error from the remote is rethrown with the same status and marked final', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    let calls = 0;
    const reject = async (): Promise<ChatResult> => {
      calls++;
      throw new ClientError('messages must not be empty', { code: 'empty_messages' });
    };
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: reject });
    const c = await mesh.add({ bootstrap: [addrOf(b)] }, { capacity: () => capacity(['m']), serveForward: reject });
    const a = await mesh.add({ bootstrap: [addrOf(b), addrOf(c)] });
    await knows(a, b, 'm');
    await knows(a, c, 'm');
    await assert.rejects(forwardToBest(a, request('m'), opts()), (err: unknown) => {
      assert.ok(err instanceof FlowRouterError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'empty_messages');
      assert.equal(err.message, 'messages must not be empty');
      assert.equal(err instanceof UpstreamError && err.fallsThrough, false, 'the router does not try another peer');
      return true;
    });
    assert.equal(calls, 1);
    assert.equal(a.status().forwards.outFailed, 0, "the client's own mistake is not a failed forward");
  } finally {
    await mesh.close();
  }
});

test('a request arriving with hop > 1 is refused and never served', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    let served = 0;
    const b = await mesh.add(
      {},
      {
        capacity: () => capacity(['m']),
        serveForward: async (req, ctx) => {
          served++;
          return echoServe('b')(req, ctx);
        },
      },
    );
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const stream = await a.libp2p.dialProtocol(b.libp2p.peerId, FORWARD_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
    const lp = frameStream(stream);
    await writeFrame(lp, { request: request('m'), deadline: Date.now() + 5_000, hop: 2, client: null, requestId: 'loop' });
    const frame = await readFrame<ForwardResponseFrame>(lp, AbortSignal.timeout(5_000));
    assert.equal(frame.type, 'error');
    assert.equal(frame.type === 'error' && frame.error.code, 'mesh_hop_limit');
    assert.equal(served, 0);
    await stream.close();
  } finally {
    await mesh.close();
  }
});

test('peers serving a model are ranked by free capacity and error rate; a failing one answers with a retryable error', { timeout: 25_000 }, async () => {
  const mesh = testMesh();
  try {
    const broken = async (): Promise<ChatResult> => {
      throw new UpstreamError('server', 'all local targets failed');
    };
    // B advertises more free slots and a clean record, so it is ranked first whatever the RTTs.
    const b = await mesh.add({}, { capacity: () => capacity(['m'], { freeConcurrency: 12 }), serveForward: broken });
    const c = await mesh.add(
      { bootstrap: [addrOf(b)] },
      { capacity: () => capacity(['m'], { freeConcurrency: 1, errorRate: 0.5 }), serveForward: echoServe('c') },
    );
    const a = await mesh.add({ bootstrap: [addrOf(b), addrOf(c)] });
    await knows(a, b, 'm');
    await knows(a, c, 'm');
    assert.deepEqual(await a.peersFor('m', AbortSignal.timeout(5_000)), [b.peerId, c.peerId]);
    await assert.rejects(a.forward(b.peerId, request('m'), opts()), (err: unknown) => {
      assert.ok(err instanceof UpstreamError);
      assert.equal(err.status, 502);
      assert.equal(err.fallsThrough, true, 'the router may go on to the next peer');
      assert.match(err.message, new RegExp(b.peerId.slice(-8)));
      return true;
    });
    assert.equal(b.status().forwards.inFailed, 1);
    assert.deepEqual(a.status().forwards, { in: 0, inFailed: 0, out: 1, outFailed: 1 });
    const result = await a.forward(c.peerId, request('m'), opts());
    assert.equal(result.kind === 'json' && result.response.choices[0].message.content, 'from c');
    assert.deepEqual(await a.peersFor('nobody-serves-this', AbortSignal.timeout(5_000)), []);
  } finally {
    await mesh.close();
  }
});

/** A local chain that streams one chunk, then waits for its abort signal, recording that it saw the abort. */
/** A remote that works until its forward is aborted, then rejects with the abort's reason and notes it in `state`. */
function untilAborted(state: { aborted: boolean }) {
  return (_req: ChatRequest, ctx: ForwardContext): Promise<ChatResult> =>
    new Promise((_resolve, reject) => {
      const t = setTimeout(() => reject(new Error('never aborted')), 15_000);
      ctx.signal.addEventListener(
        'abort',
        () => {
          state.aborted = true;
          clearTimeout(t);
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
}

function hangingStream(state: { aborted: boolean }) {
  return async (req: ChatRequest, ctx: ForwardContext): Promise<ChatResult> => {
    async function* gen(): AsyncGenerator<ChatChunk> {
      yield chunk(req.model, 'first');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 15_000);
        ctx.signal.addEventListener(
          'abort',
          () => {
            state.aborted = true;
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    return { kind: 'stream', chunks: gen(), firstByteMs: 1 };
  };
}

test('a peer stopped mid-stream makes the chunk generator throw an UpstreamError', { timeout: 25_000 }, async () => {
  const mesh = testMesh();
  try {
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: hangingStream({ aborted: false }) });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const { result } = await forwardToBest(a, request('m', true), opts());
    assert.equal(result.kind, 'stream');
    if (result.kind !== 'stream') return;
    const first = await result.chunks.next();
    assert.equal(first.value?.choices[0].delta.content, 'first');
    const stopping = b.stop();
    await assert.rejects(result.chunks.next(), (err: unknown) => err instanceof UpstreamError && /mid-stream/.test(err.message));
    await stopping;
  } finally {
    await mesh.close();
  }
});

test("a client abort mid-stream reaches the remote handler's signal", { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const state = { aborted: false };
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: hangingStream(state) });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const client = new AbortController();
    const { result } = await forwardToBest(a, request('m', true), opts({ signal: client.signal }));
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await result.chunks.next();
    const pending = result.chunks.next();
    client.abort(new Error('client went away'));
    await assert.rejects(pending);
    await waitFor('the remote to see the abort', () => state.aborted, 5_000);
  } finally {
    await mesh.close();
  }
});

test('a client abort before the answer reaches the remote and rejects with the abort reason', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const remote = { aborted: false };
    const slow = untilAborted(remote);
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: slow });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const client = new AbortController();
    const reason = new Error('client disconnected');
    const pending = forwardToBest(a, request('m'), opts({ signal: client.signal }));
    await waitFor('the remote to start', () => b.status().forwards.in === 1);
    client.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    await waitFor('the remote to see the abort', () => remote.aborted, 5_000);
  } finally {
    await mesh.close();
  }
});

test('a slow remote answer is kept alive past the idle timeout by keep-alive frames', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    // idle timeout is 4 × keepaliveMs (800 ms in tests); the answer takes 1.5 s.
    const slow = async (req: ChatRequest, ctx: ForwardContext): Promise<ChatResult> => {
      await new Promise((r) => setTimeout(r, 1_500));
      return echoServe('b')(req, ctx);
    };
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: slow });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const { result } = await forwardToBest(a, request('m'), opts());
    assert.equal(result.kind === 'json' && result.response.choices[0].message.content, 'from b');
  } finally {
    await mesh.close();
  }
});

test('an error raised by the remote mid-stream is thrown from the chunk generator with the remote status', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const failing = async (req: ChatRequest): Promise<ChatResult> => {
      async function* gen(): AsyncGenerator<ChatChunk> {
        yield chunk(req.model, 'partial');
        throw new UpstreamError('overloaded', 'upstream overloaded mid-answer');
      }
      return { kind: 'stream', chunks: gen(), firstByteMs: 1 };
    };
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: failing });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const { result } = await forwardToBest(a, request('m', true), opts());
    if (result.kind !== 'stream') throw new Error('expected a stream');
    assert.equal((await result.chunks.next()).value?.choices[0].delta.content, 'partial');
    await assert.rejects(
      result.chunks.next(),
      (err: unknown) => err instanceof UpstreamError && err.status === 503 && /overloaded mid-answer/.test(err.message),
    );
  } finally {
    await mesh.close();
  }
});

test('the deadline travels with the request: the remote stops working and the caller gets a timeout', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const remote = { aborted: false };
    const slow = untilAborted(remote);
    const b = await mesh.add({}, { capacity: () => capacity(['m']), serveForward: slow });
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const started = Date.now();
    await assert.rejects(
      forwardToBest(a, request('m'), opts({ deadlineMs: Date.now() + 600 })),
      (err: unknown) => err instanceof UpstreamError && err.kind === 'timeout' && err.status === 504,
    );
    assert.ok(Date.now() - started < 3_000);
    await waitFor('the remote to stop working', () => remote.aborted, 5_000);
  } finally {
    await mesh.close();
  }
});

test('frames over 4 MB are refused cleanly in both directions', { timeout: 20_000 }, async () => {
  const mesh = testMesh();
  try {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const b = await mesh.add(
      {},
      {
        capacity: () => capacity(['m']),
        serveForward: async (req) => ({ kind: 'json', response: { ...echoResponse(req.model, 'big'), huge }, firstByteMs: 1 }),
      },
    );
    const a = await mesh.add({ bootstrap: [addrOf(b)] });
    await knows(a, b, 'm');
    const big = request('m');
    big.messages = [{ role: 'user', content: huge }];
    await assert.rejects(
      forwardToBest(a, big, opts()),
      (err: unknown) => err instanceof UpstreamError && err.kind === 'protocol' && /larger than a mesh frame/.test(err.message),
    );
    assert.equal(b.status().forwards.in, 0);
    await assert.rejects(
      forwardToBest(a, request('m'), opts()),
      (err: unknown) => err instanceof UpstreamError && /larger than a mesh frame/.test(err.message),
    );
  } finally {
    await mesh.close();
  }
});
