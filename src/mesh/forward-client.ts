// The mesh's transport: sends one chat request to one peer over the forward protocol, streaming end to end.
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p, Stream } from '@libp2p/interface';
import { FlowRouterError, MeshPeerSilent, MeshStreamClosed, UpstreamError } from '../core/errors.ts';
import type { ChatChunk, ChatRequest } from '../core/openai.ts';
import type { ChatResult } from '../providers/transport.ts';
import { fromWireError, shortId } from './errors.ts';
import { FORWARD_PROTOCOL, MAX_FRAME_BYTES, encodeFrame, frameStream, isResponseFrame, readFrame, writeFrame } from './frames.ts';
import type { ForwardRequestFrame, ForwardResponseFrame, FrameStream } from './frames.ts';
import type { WireIdentity } from './forward-identity.ts';
import type { ForwardOptions } from './types.ts';

interface Attempt {
  peerId: string;
  signal: AbortSignal;
  clientSignal: AbortSignal | undefined;
  idleTimeoutMs: number;
  /** Bound on reaching the peer: the stream opened and the protocol agreed (one round trip on an open connection). */
  reachTimeoutMs: number;
  /** Counts a failed forward (mid-stream failures are only known once the stream breaks). */
  onFailure(): void;
  /** The peer answered the stream's negotiation, or did not within `reachTimeoutMs`. */
  onReach(reached: boolean): void;
}

/** Aborts when the peer sends nothing for `ms`; one timer per attempt, re-armed on every frame. */
interface SilenceWatch {
  signal: AbortSignal;
  heard(): void;
  stop(): void;
}

function watchSilence(ms: number, parent: AbortSignal): SilenceWatch {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new MeshPeerSilent()), ms);
  const onParent = (): void => ctl.abort(parent.reason);
  parent.addEventListener('abort', onParent, { once: true });
  return {
    signal: ctl.signal,
    heard: () => {
      timer.refresh();
    },
    stop: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}

/** Maps whatever ended an attempt to what the caller should see: the client's abort reason, a timeout, or a lost peer. */
function attemptError(err: unknown, a: Attempt, what: string, silence?: SilenceWatch): unknown {
  if (a.clientSignal?.aborted) return a.clientSignal.reason;
  // Our own abort of the stream (deadline, silence) shows up as the stream's error: say why it was aborted.
  if (a.signal.aborted) return new UpstreamError('timeout', `mesh peer ${shortId(a.peerId)}: deadline passed ${what}`);
  if (silence?.signal.aborted) return new UpstreamError('timeout', `mesh peer ${shortId(a.peerId)}: went silent ${what}`);
  if (err instanceof FlowRouterError) return err;
  return new UpstreamError('connect', `mesh peer ${shortId(a.peerId)}: connection lost ${what} (${(err as Error)?.name ?? 'error'})`);
}

async function nextFrame(lp: FrameStream, silence: SilenceWatch): Promise<ForwardResponseFrame> {
  for (;;) {
    const frame = await readFrame<unknown>(lp, silence.signal);
    if (!isResponseFrame(frame)) throw new UpstreamError('protocol', 'mesh peer sent a malformed response frame');
    silence.heard();
    if (frame.type !== 'keepalive') return frame;
  }
}

async function* remoteChunks(
  stream: Stream,
  lp: FrameStream,
  first: ForwardResponseFrame,
  a: Attempt,
  silence: SilenceWatch,
  release: () => void,
): AsyncGenerator<ChatChunk> {
  let complete = false;
  try {
    let frame = first;
    for (;;) {
      if (frame.type === 'end') {
        complete = true;
        return;
      }
      if (frame.type === 'error') {
        complete = true;
        throw fromWireError(frame.error, a.peerId);
      }
      if (frame.type === 'chunk') yield frame.chunk;
      try {
        frame = await nextFrame(lp, silence);
      } catch (err) {
        if (!a.clientSignal?.aborted) a.onFailure();
        throw attemptError(err, a, 'mid-stream', silence);
      }
    }
  } finally {
    release();
    // Abandoning the generator early (client gone) resets the stream, which aborts the remote's work.
    if (complete) closeStream(stream);
    else stream.abort(new MeshStreamClosed('forwarded stream abandoned'));
  }
}

/** Closes gracefully, but never waits on a peer that does not close its side: past 5 s the stream is reset. */
function closeStream(stream: Stream): void {
  stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
}

/** One exchange with one peer; resolves once the peer has answered (first chunk, JSON or end), rejects on failure. */
async function exchange(host: Libp2p, frame: Uint8Array, a: Attempt): Promise<ChatResult> {
  const started = performance.now();
  let stream: Stream;
  // An open connection is reused directly: dialProtocol goes through the dialer and peer store on every call.
  const open = host.getConnections(peerIdFromString(a.peerId)).find((c) => c.status === 'open');
  // A connection that went dead still reads as open until the connection monitor notices (10 s and more): the
  // negotiation (a round trip to the peer's libp2p, whatever its model is doing) shows it within a short bound.
  const reachMs = open ? a.reachTimeoutMs : 2 * a.reachTimeoutMs;
  const reach = AbortSignal.timeout(reachMs);
  try {
    const signal = AbortSignal.any([a.signal, reach]);
    stream = open ? await open.newStream(FORWARD_PROTOCOL, { signal }) : await host.dialProtocol(peerIdFromString(a.peerId), FORWARD_PROTOCOL, { signal });
  } catch (err) {
    if (reach.aborted && !a.signal.aborted) {
      a.onReach(false);
      throw new UpstreamError('connect', `mesh peer ${shortId(a.peerId)}: no answer within ${reachMs} ms`);
    }
    throw attemptError(err, a, 'while dialling');
  }
  a.onReach(true);
  const abortStream = (): void => stream.abort(new MeshStreamClosed('forward aborted by the client or its deadline'));
  a.signal.addEventListener('abort', abortStream, { once: true });
  const silence = watchSilence(a.idleTimeoutMs, a.signal);
  const release = (): void => {
    a.signal.removeEventListener('abort', abortStream);
    silence.stop();
  };
  const lp = frameStream(stream);
  let first: ForwardResponseFrame;
  try {
    await writeFrame(lp, frame, a.signal);
    first = await nextFrame(lp, silence);
  } catch (err) {
    release();
    stream.abort(new MeshStreamClosed('forward attempt failed'));
    throw attemptError(err, a, 'before answering', silence);
  }
  const firstByteMs = performance.now() - started;
  if (first.type === 'json') {
    release();
    closeStream(stream);
    return { kind: 'json', response: first.response, firstByteMs };
  }
  if (first.type === 'error') {
    release();
    closeStream(stream);
    throw fromWireError(first.error, a.peerId);
  }
  return { kind: 'stream', chunks: remoteChunks(stream, lp, first, a, silence, release), firstByteMs };
}

export interface ForwardClientInit {
  host: Libp2p;
  /** A peer that sends nothing (not even a keep-alive) for this long is given up on. */
  idleTimeoutMs: number;
  /** Bound on opening the forward's stream (dial included): a dead connection fails here, not at the deadline. */
  reachTimeoutMs: number;
  counters: { out: number; outFailed: number };
  /** Told whether the peer answered the stream's negotiation in time. */
  onReach?: (peerId: string, reached: boolean) => void;
}

/**
 * Forwards one request to one peer; resolves once the peer has answered (JSON, or a stream's first chunk). Which peer
 * to try, and what to do when it fails, is the router's business: a peer is one of its targets.
 */
export async function forwardToPeer(
  init: ForwardClientInit,
  peerId: string,
  request: ChatRequest,
  opts: ForwardOptions,
  identity?: WireIdentity,
): Promise<ChatResult> {
  const deadlineSignal = AbortSignal.timeout(Math.max(opts.deadlineMs - Date.now(), 1));
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadlineSignal]) : deadlineSignal;
  const frame = encodeFrame({ request, deadline: opts.deadlineMs, hop: 1, requestId: opts.requestId, identity } satisfies ForwardRequestFrame);
  if (frame.byteLength > MAX_FRAME_BYTES) {
    throw new UpstreamError('protocol', `request of ${frame.byteLength} bytes is larger than a mesh frame (${MAX_FRAME_BYTES} bytes)`);
  }
  init.counters.out++;
  const attempt: Attempt = {
    peerId,
    signal,
    clientSignal: opts.signal,
    idleTimeoutMs: init.idleTimeoutMs,
    reachTimeoutMs: init.reachTimeoutMs,
    onFailure: () => {
      init.counters.outFailed++;
    },
    onReach: (reached) => init.onReach?.(peerId, reached),
  };
  try {
    return await exchange(init.host, frame, attempt);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    // The peer refusing the client's own mistake is an answer, not a failed forward.
    if (!(err instanceof UpstreamError && !err.fallsThrough)) attempt.onFailure();
    throw err;
  }
}
