// One worker thread per process for the CPU-heavy part of large knowledge writes (chunking, hashing, JSON of up to
// 16 MiB): started on first use, unreferenced while idle so it never holds the process open, ended when idle a while.
import { Worker } from 'node:worker_threads';
import { ClientError } from '../core/errors.ts';
import type { DecodedOp, PreparedPut } from './prepare.ts';

export type OffloadRequest =
  | { id: number; task: 'ingest'; body: Uint8Array; now: number }
  | { id: number; task: 'decode'; bytes: Uint8Array }
  | { id: number; task: 'digest'; stored: Uint8Array }
  | { id: number; task: 'checkpoint'; file: string };

export interface WorkerError {
  message: string;
  status?: number;
  code?: string;
  param?: string | null;
}

type Task = OffloadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** A worker idle this long is ended; the next large write starts another (some 50 ms). */
const IDLE_MS = 30_000;

/** Bytes that own their whole buffer can be transferred; a view into a shared one (a Buffer pool) is copied first. */
const owned = (bytes: Uint8Array): Uint8Array => (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice());

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './offload-worker.ts' : './offload-worker.js', import.meta.url);

export class Offload {
  #worker: Worker | null = null;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  /** Parses and validates a POST /v1/kb/documents body, then parses, chunks and encodes its documents. */
  ingest(body: Uint8Array, now: number): Promise<PreparedPut[]> {
    const own = owned(body);
    return this.#run({ task: 'ingest', body: own, now }, [own.buffer as ArrayBuffer]) as Promise<PreparedPut[]>;
  }

  /** Parses and validates one op as sync sends it, and digests its payload; the bytes are handed over, not copied. */
  decode(bytes: Uint8Array): Promise<DecodedOp> {
    const own = owned(bytes);
    return this.#run({ task: 'decode', bytes: own }, [own.buffer as ArrayBuffer]) as Promise<DecodedOp>;
  }

  /** The digest of a payload stored as JSON (UTF-8 bytes, copied: the caller keeps its own). */
  digest(stored: Uint8Array): Promise<string> {
    const copy = stored.slice();
    return this.#run({ task: 'digest', stored: copy }, [copy.buffer as ArrayBuffer]) as Promise<string>;
  }

  /** Copies the database's write-ahead log into it (a passive checkpoint) over a connection of the worker's own. */
  checkpoint(file: string): Promise<void> {
    return this.#run({ task: 'checkpoint', file }) as Promise<void>;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    const w = this.#worker;
    this.#worker = null;
    this.#failAll(new Error('the knowledge worker was stopped'));
    await w?.terminate();
  }

  #run(task: Task, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the knowledge worker was stopped'));
    const worker = this.#start();
    const id = this.#next++;
    clearTimeout(this.#idle);
    // Held open while it works for someone; unreferenced while idle.
    worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...task }, transfer);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(workerUrl);
    worker.on('message', (msg: { id: number; result?: unknown; error?: WorkerError }) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error)
        p.reject(
          msg.error.status !== undefined
            ? new ClientError(msg.error.message, { status: msg.error.status, code: msg.error.code, param: msg.error.param })
            : new Error(msg.error.message),
        );
      else p.resolve(msg.result);
      this.#settled();
    });
    // A crashed worker fails what it was doing; the next task starts a new one.
    worker.on('error', (err) => this.#lost(worker, err));
    worker.on('exit', (code) => this.#lost(worker, new Error(`the knowledge worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #settled(): void {
    if (this.#pending.size > 0 || !this.#worker) return;
    const worker = this.#worker;
    worker.unref();
    this.#idle = setTimeout(() => {
      if (this.#worker !== worker || this.#pending.size > 0) return;
      this.#worker = null;
      void worker.terminate();
    }, IDLE_MS);
    this.#idle.unref();
  }

  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#failAll(err);
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
