// One direction of a private-network connection: the XSalsa20 keystream (psk, sender's nonce) xored over the bytes in order.
import { xsalsa20 } from '@noble/ciphers/salsa.js';
import { MeshConfigError, MeshKeystreamExhausted, MeshStreamClosed } from '../../core/errors.ts';

const BLOCK = 64;
/** Bytes xored per cipher call: a huge message costs many small calls, never one allocation of its own size. */
export const XOR_CHUNK_BYTES = 64 * 1024;
/** The cipher's block counter is 32 bits wide: past 256 GiB in one direction the connection must be re-established. */
const MAX_STREAM_BYTES = (2 ** 32 - 1) * BLOCK;

/** Keystreams not yet wiped, process-wide: a connection that closes must give its keys back (tests assert this). */
let live = 0;

export function liveKeystreams(): number {
  return live;
}

/**
 * XSalsa20 as a continuous stream, the way @libp2p/pnet applies it: byte n of the direction is xored with byte n of
 * the keystream, wherever the message boundaries fall. Pure JavaScript, so no shared WebAssembly memory to grow.
 */
export class Keystream {
  #key: Uint8Array;
  #nonce: Uint8Array;
  /** Bytes of this direction processed so far. */
  #offset = 0;
  #wiped = false;

  constructor(psk: Uint8Array, nonce: Uint8Array) {
    if (psk.byteLength !== 32) throw new MeshConfigError('the private-network key must be 32 bytes');
    if (nonce.byteLength !== 24) throw new MeshConfigError('the private-network nonce must be 24 bytes');
    this.#key = Uint8Array.from(psk);
    this.#nonce = Uint8Array.from(nonce);
    live++;
  }

  /** Returns `input` xored with the next `input.byteLength` keystream bytes. */
  xor(input: Uint8Array): Uint8Array {
    if (this.#wiped) throw new MeshStreamClosed('keystream used after its connection closed');
    if (this.#offset + input.byteLength > MAX_STREAM_BYTES) throw new MeshKeystreamExhausted();
    const out = new Uint8Array(input.byteLength);
    let done = 0;
    // A message that starts inside a block takes the rest of that block's keystream first.
    const into = this.#offset % BLOCK;
    if (into !== 0 && input.byteLength > 0) {
      const block = xsalsa20(this.#key, this.#nonce, new Uint8Array(BLOCK), undefined, Math.floor(this.#offset / BLOCK));
      const n = Math.min(BLOCK - into, input.byteLength);
      for (let i = 0; i < n; i++) out[i] = input[i] ^ block[into + i];
      done = n;
    }
    while (done < input.byteLength) {
      const n = Math.min(XOR_CHUNK_BYTES, input.byteLength - done);
      out.set(xsalsa20(this.#key, this.#nonce, input.subarray(done, done + n), undefined, (this.#offset + done) / BLOCK), done);
      done += n;
    }
    this.#offset += input.byteLength;
    return out;
  }

  /** Zeroes the key material; called once when the connection closes, however it closes. */
  wipe(): void {
    if (this.#wiped) return;
    this.#wiped = true;
    this.#key.fill(0);
    this.#nonce.fill(0);
    live--;
  }
}
