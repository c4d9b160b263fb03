// The mesh's pre-shared-key connection protector: @libp2p/pnet's wire format, in bounded chunks, keys wiped on close.
// Carried because @libp2p/pnet 3.0.27 xors each message through one shared WebAssembly memory (a large message grows
// it until Memory.grow() fails and the process dies) and never finalizes its ciphers (a pool slot leaks per
// connection). js-libp2p PR #3585 fixes both upstream: drop this folder for `preSharedKey` once a release carries it.
import { InvalidParametersError } from '@libp2p/interface';
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';
import { MeshForeignNetwork } from '../../core/errors.ts';
import { Keystream, XOR_CHUNK_BYTES } from './keystream.ts';

export const NONCE_BYTES = 24;
const HANDSHAKE_TIMEOUT_MS = 5_000;
/**
 * What every libp2p peer sends first once the private channel is up: multistream-select's length-prefixed header.
 * Anything else decrypted there means the two ends hold different keys (or the peer is not a libp2p node).
 */
const FIRST_MESSAGE = new TextEncoder().encode('\x13/multistream/1.0.0\n');

export interface PrivateNetworkInit {
  /** The 32-byte key from the mesh secret file (see `decodeMeshSecret`). */
  key: Uint8Array;
  /** Told about every connection whose peer turned out to use another key. */
  onForeignPeer?: (remoteAddr: string, direction: 'inbound' | 'outbound') => void;
}

type SendData = Parameters<AbstractMultiaddrConnection['sendData']>[0];

/** The protected connection: bytes out are xored before the raw connection sees them, bytes in after. */
class PrivateConnection extends AbstractMultiaddrConnection {
  readonly #raw: MultiaddrConnection;
  readonly #out: Keystream;
  readonly #in: Keystream;
  /** Bytes of FIRST_MESSAGE checked so far; -1 once the check is over. */
  #checked = 0;

  constructor(raw: MultiaddrConnection, init: PrivateNetworkInit, local: Uint8Array, remote: Uint8Array) {
    super({ log: raw.log.newScope('private-network'), remoteAddr: raw.remoteAddr, direction: raw.direction, maxMessageSize: XOR_CHUNK_BYTES });
    this.#raw = raw;
    this.#out = new Keystream(init.key, local);
    this.#in = new Keystream(init.key, remote);
    // However the connection ends, its keys are wiped exactly once.
    this.addEventListener('close', () => {
      this.#out.wipe();
      this.#in.wipe();
    });
    raw.addEventListener('message', (evt) => {
      try {
        const data = evt.data;
        for (const buf of data instanceof Uint8Array ? [data] : data) {
          const plain = this.#in.xor(buf);
          if (this.#checked >= 0 && !this.#firstBytesMatch(plain)) {
            init.onForeignPeer?.(raw.remoteAddr.toString(), raw.direction);
            throw new MeshForeignNetwork(raw.remoteAddr.toString());
          }
          this.onData(plain);
        }
      } catch (err) {
        // Thrown from an event listener it would take the process down: end this connection instead.
        this.abort(err as Error);
      }
    });
    raw.addEventListener('drain', () => this.onMuxerDrain());
    raw.addEventListener('close', (evt) => {
      if (evt.error == null) this.onTransportClosed();
      else if (evt.local) this.abort(evt.error);
      else this.onRemoteReset();
    });
  }

  #firstBytesMatch(plain: Uint8Array): boolean {
    for (let i = 0; i < plain.byteLength && this.#checked < FIRST_MESSAGE.byteLength; i++, this.#checked++) {
      if (plain[i] !== FIRST_MESSAGE[this.#checked]) return false;
    }
    if (this.#checked >= FIRST_MESSAGE.byteLength) this.#checked = -1;
    return true;
  }

  sendData(data: SendData) {
    let canSendMore = true;
    // maxMessageSize keeps each call at most one chunk, usually one buffer.
    for (const buf of data) canSendMore = this.#raw.send(this.#out.xor(buf));
    return { sentBytes: data.byteLength, canSendMore };
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.#raw.close(options);
  }

  sendReset(err: Error): void {
    this.#raw.abort(err);
  }

  sendPause(): void {
    this.#raw.pause();
  }

  sendResume(): void {
    this.#raw.resume();
  }
}

class PrivateNetworkProtector implements ConnectionProtector {
  readonly #init: PrivateNetworkInit;

  constructor(init: PrivateNetworkInit) {
    if (init.key.byteLength !== 32) throw new InvalidParametersError('the private-network key must be 32 bytes');
    this.#init = init;
  }

  readonly [Symbol.toStringTag] = 'flowrouter/private-network';

  /** Exchanges nonces in the clear (24 random bytes each way), then xors everything after them. */
  async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    if (connection == null || !('remoteAddr' in connection)) throw new InvalidParametersError('no connection to protect');
    const signal = options?.signal ?? AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS);
    const local = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const bytes = byteStream(connection);
    const [remote] = await Promise.all([bytes.read({ bytes: NONCE_BYTES, signal }), bytes.write(local, { signal })]);
    return new PrivateConnection(bytes.unwrap() as MultiaddrConnection, this.#init, local, remote.subarray());
  }
}

/** The libp2p `connectionProtector` for a mesh secret. */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  return () => new PrivateNetworkProtector(init);
}
