// The forward protocol's wire frames: one request frame, then response frames, each a length-prefixed JSON document.
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { LengthPrefixedStream } from '@libp2p/utils';
import type { ChatChunk, ChatRequest, ChatResponse } from '../core/openai.ts';
import type { WireError } from './errors.ts';
import type { WireIdentity } from './forward-identity.ts';

export const FORWARD_PROTOCOL = '/flowrouter/forward/1.0.0';
export const CAPACITY_PROTOCOL = '/flowrouter/capacity/1.0.0';
/** Largest frame accepted: a request with long context or a big JSON answer, not unbounded. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface ForwardRequestFrame {
  request: ChatRequest;
  /** Epoch ms after which the remote abandons the request. */
  deadline: number;
  /** Always 1: a forwarded request is never forwarded again. */
  hop: number;
  requestId: string;
  /** The client the sender authenticated, signed by the sender (forward-identity.ts); absent for its own requests. */
  identity?: WireIdentity;
}

export type ForwardResponseFrame =
  | { type: 'json'; response: ChatResponse }
  | { type: 'chunk'; chunk: ChatChunk }
  | { type: 'end' }
  | { type: 'error'; error: WireError }
  | { type: 'keepalive' };

export type FrameStream = LengthPrefixedStream<Stream>;

export function frameStream(stream: Stream): FrameStream {
  return lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeFrame(frame: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(frame));
}

export async function writeFrame(lp: FrameStream, frame: unknown | Uint8Array, signal?: AbortSignal): Promise<void> {
  await lp.write(frame instanceof Uint8Array ? frame : encodeFrame(frame), { signal });
}

export async function readFrame<T>(lp: FrameStream, signal?: AbortSignal): Promise<T> {
  const list = await lp.read({ signal });
  return JSON.parse(decoder.decode(list.subarray())) as T;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a peer's response frame has the outer shape the chat path reads (a member holding the secret can still send
 * anything): a `json` frame without a response used to reach the cache and usage layers and end in a 500.
 */
export function isResponseFrame(f: unknown): f is ForwardResponseFrame {
  if (!isObject(f)) return false;
  switch (f.type) {
    case 'json':
      return isObject(f.response) && Array.isArray(f.response.choices);
    case 'chunk':
      return isObject(f.chunk) && Array.isArray(f.chunk.choices);
    case 'error':
      return isObject(f.error);
    case 'end':
    case 'keepalive':
      return true;
    default:
      return false;
  }
}
