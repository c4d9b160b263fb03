// Serves forwarded requests: one request frame in, validated and admitted per peer, the local result streamed back as frames, remote abort honoured.
import { randomUUID } from 'node:crypto';
import type { Connection, Stream, StreamCloseEvent } from '@libp2p/interface';
import { ClientError, FlowRouterError, MeshStreamClosed, NotMeshMember, UpstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { toWireError } from './errors.ts';
import { MAX_FRAME_BYTES, encodeFrame, frameStream, readFrame, writeFrame } from './frames.ts';
import type { ForwardRequestFrame, ForwardResponseFrame } from './frames.ts';
import { verifyForwardIdentity, type ForwardIdentity } from './forward-identity.ts';
import { validateForwardedRequest } from './forward-validation.ts';
import type { MeshDeps } from './types.ts';

/** A peer that opens the protocol but never sends its request is dropped after this. */
const REQUEST_READ_TIMEOUT_MS = 10_000;
/** The longest a forwarded request may run whatever deadline the caller claims. */
const MAX_WORK_MS = 15 * 60_000;

export interface ForwardServerInit {
  serveForward: MeshDeps['serveForward'];
  /** Per-peer limits and the accept switch; absent: every member is served without limits. */
  accepting?: () => boolean;
  allowlist: ReadonlySet<string> | null;
  /** This node's peer id: a client identity must be addressed to it. */
  self: string;
  keepaliveMs: number;
  counters: { in: number; inFailed: number };
  log: Logger;
}

/** The frame's envelope; its request is validated like an HTTP body afterwards. */
function checkFrame(frame: ForwardRequestFrame): void {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || !Number.isFinite(frame.deadline)) {
    throw new ClientError('malformed forward request frame', { code: 'mesh_bad_frame' });
  }
  if (frame.hop !== 1) {
    throw new ClientError('a forwarded request cannot be forwarded again', { status: 400, code: 'mesh_hop_limit' });
  }
}

export function forwardHandler(init: ForwardServerInit) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString();
    if (init.allowlist && !init.allowlist.has(remote)) {
      stream.abort(new NotMeshMember());
      return;
    }
    const lp = frameStream(stream);
    const work = new AbortController();
    let finished = false;
    let remoteGone = false;
    const onClose = (evt: StreamCloseEvent): void => {
      if (finished) return;
      remoteGone = true;
      work.abort(evt.error ?? new MeshStreamClosed('forwarding peer closed the stream'));
    };
    stream.addEventListener('close', onClose);

    // Frames go out one at a time so a keep-alive never lands inside another write.
    let queue: Promise<void> = Promise.resolve();
    let lastWrite = Date.now();
    const send = (frame: ForwardResponseFrame): Promise<void> => {
      const bytes = encodeFrame(frame);
      if (bytes.byteLength > MAX_FRAME_BYTES) {
        return Promise.reject(new UpstreamError('protocol', `answer of ${bytes.byteLength} bytes is larger than a mesh frame`));
      }
      lastWrite = Date.now();
      queue = queue.then(() => writeFrame(lp, bytes));
      return queue;
    };
    const keepalive = setInterval(() => {
      if (Date.now() - lastWrite >= init.keepaliveMs) send({ type: 'keepalive' }).catch(() => undefined);
    }, init.keepaliveMs);
    let deadlineTimer: NodeJS.Timeout | undefined;

    try {
      const frame = await readFrame<ForwardRequestFrame>(lp, AbortSignal.any([work.signal, AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS)]));
      init.counters.in++;
      if (init.accepting && !init.accepting()) {
        // 503, not 4xx: the forwarding node moves on to another peer instead of failing its client.
        throw new FlowRouterError(503, 'server_error', 'mesh_forwards_disabled', 'This node does not serve forwarded requests (mesh.accept_forwards: false)');
      }
      checkFrame(frame);
      const request = validateForwardedRequest(frame.request);
      let identity: ForwardIdentity | undefined;
      if (frame.identity !== undefined) {
        // A claim that fails any check is refused outright, never served as the peer's own request.
        const checked = await verifyForwardIdentity(frame.identity, { from: remote, to: init.self, request: frame.request });
        if (typeof checked === 'string') {
          throw new FlowRouterError(
            401,
            'authentication_error',
            'mesh_identity_invalid',
            `The client identity on this forward was refused (${checked}); nothing was served`,
          );
        }
        identity = checked;
      }
      const budget = Math.min(Math.max(frame.deadline - Date.now(), 0), MAX_WORK_MS);
      deadlineTimer = setTimeout(() => work.abort(new UpstreamError('timeout', 'forwarded request passed its deadline')), budget);
      // A request id of our own: the sender's could repeat one already in the usage ledger and so go unrecorded.
      const result = await init.serveForward(request, { signal: work.signal, peerId: remote, requestId: randomUUID(), identity });
      if (result.kind === 'json') {
        await send({ type: 'json', response: result.response });
      } else {
        try {
          for await (const chunk of result.chunks) {
            if (work.signal.aborted) break;
            await send({ type: 'chunk', chunk });
          }
        } finally {
          if (work.signal.aborted) await result.chunks.return(undefined).catch(() => undefined);
        }
        if (work.signal.aborted) throw work.signal.reason;
        await send({ type: 'end' });
      }
      finished = true;
      await stream.close({ signal: AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS) }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
    } catch (err) {
      init.counters.inFailed++;
      if (stream.status === 'open' && !remoteGone) {
        const cause = work.signal.aborted ? work.signal.reason : err;
        init.log.info({ peer: remote, error: (cause as Error)?.message }, 'mesh:forward-in-failed');
        await send({ type: 'error', error: toWireError(cause) }).catch(() => undefined);
        finished = true;
        await stream.close({ signal: AbortSignal.timeout(1_000) }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
      } else {
        // The forwarding side gave up (its client left, a deadline, another peer answered first): routine.
        init.log.debug({ peer: remote, reason: (work.signal.reason as Error | undefined)?.message }, 'mesh:forward-in-aborted');
        stream.abort(err instanceof Error ? err : new MeshStreamClosed('forward aborted'));
      }
    } finally {
      finished = true;
      clearInterval(keepalive);
      clearTimeout(deadlineTimer);
      stream.removeEventListener('close', onClose);
    }
  };
}
