// Keeps SQLite's WAL checkpoint of a large write off the main thread: copying tens of megabytes of log into the
// database at the commit would hold the event loop for some 100 ms, so the knowledge worker does it instead.
import type { Db } from '../core/database.ts';
import type { Offload } from './offload.ts';

export class CheckpointAside {
  readonly #db: Db;
  readonly #offload: () => Offload;
  /** The connection's automatic checkpoint threshold, and how many large writes have it paused. */
  readonly #threshold: number;
  #paused = 0;

  constructor(db: Db, offload: () => Offload) {
    this.#db = db;
    this.#offload = offload;
    this.#threshold = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Runs `write` (a large one when `large`) with the automatic checkpoint paused until the worker has checkpointed. */
  around<T>(large: boolean, write: () => T): T {
    if (!large || this.#db.memory || this.#threshold === 0) return write();
    if (this.#paused++ === 0) this.#db.pragma('wal_autocheckpoint = 0');
    const resume = (): void => {
      if (--this.#paused === 0 && this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${this.#threshold}`);
    };
    let result: T;
    try {
      result = write();
    } catch (err) {
      resume();
      throw err;
    }
    this.#offload()
      .checkpoint(this.#db.name)
      .catch(() => undefined)
      .finally(resume);
    return result;
  }
}
