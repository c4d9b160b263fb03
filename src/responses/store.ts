// Stored Responses API responses, per owner, in the node's SQLite file: what `previous_response_id`, GET and DELETE
// read. Each row holds one turn (its input items and the Response); a conversation is the chain of its previous ids.
import { migrate, type Db } from '../core/database.ts';
import { ClientError, NotFoundError } from '../core/errors.ts';
import type { ClientInfo } from '../pipeline/index.ts';
import type { InputItem, ResponseObject } from '../inbound/responses/index.ts';

const MIGRATIONS = [
  {
    id: 'responses/001-responses',
    up: `CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    previous_id TEXT,
    created_at INTEGER NOT NULL,
    input TEXT NOT NULL,
    response TEXT NOT NULL
  );
  CREATE INDEX responses_created ON responses (created_at);`,
  },
];

/** A conversation longer than this many stored turns is refused rather than walked. */
export const MAX_CHAIN = 1000;

/**
 * Whose a stored response is: the client key that made it; callers without a key share the anonymous owner (a node
 * without auth, or `auth.mode: optional` and no key), and a keyed client never sees theirs, nor they a keyed one's.
 */
export function ownerOf(client: ClientInfo | undefined): string {
  return client ? `key:${client.id}` : 'anonymous';
}

export interface StoredTurn {
  id: string;
  previousId: string | null;
  /** This turn's input items, as the client sent them (a string input as one user message). */
  input: InputItem[];
  response: ResponseObject;
}

interface Row {
  id: string;
  previous_id: string | null;
  input: string;
  response: string;
  created_at: number;
}

export interface ResponseStoreOptions {
  /** Stored responses older than this are gone (and pruned by the retention job). */
  retentionMs: () => number;
  now?: () => number;
}

export class ResponseStore {
  private readonly db: Db;
  private readonly opts: ResponseStoreOptions;
  private readonly stmts: ReturnType<ResponseStore['prepare']>;

  constructor(db: Db, opts: ResponseStoreOptions) {
    this.db = db;
    this.opts = opts;
    migrate(db, MIGRATIONS);
    this.stmts = this.prepare();
  }

  private prepare() {
    return {
      insert: this.db.prepare('INSERT OR REPLACE INTO responses (id, owner, previous_id, created_at, input, response) VALUES (?, ?, ?, ?, ?, ?)'),
      get: this.db.prepare<[string, string, number], Row>(
        'SELECT id, previous_id, input, response, created_at FROM responses WHERE id = ? AND owner = ? AND created_at >= ?',
      ),
      delete: this.db.prepare('DELETE FROM responses WHERE id = ? AND owner = ?'),
      prune: this.db.prepare('DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses WHERE created_at < ? LIMIT ?)'),
    };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  save(owner: string, turn: StoredTurn): void {
    this.stmts.insert.run(turn.id, owner, turn.previousId, this.now(), JSON.stringify(turn.input), JSON.stringify(turn.response));
  }

  /** The turn, if it exists, belongs to `owner` and is within retention; another owner's is as absent as a missing one. */
  get(id: string, owner: string): StoredTurn | undefined {
    const row = this.stmts.get.get(id, owner, this.now() - this.opts.retentionMs());
    if (!row) return undefined;
    return { id: row.id, previousId: row.previous_id, input: JSON.parse(row.input) as InputItem[], response: JSON.parse(row.response) as ResponseObject };
  }

  /** True when it existed (and was the owner's). */
  delete(id: string, owner: string): boolean {
    return this.stmts.delete.run(id, owner).changes > 0;
  }

  /**
   * The items of a conversation up to and including turn `id`, oldest first: each turn's input, then its output. A
   * turn missing on the way (deleted, expired) is an error naming it: the conversation cannot be rebuilt without it.
   */
  conversation(id: string, owner: string): InputItem[] {
    const turns: StoredTurn[] = [];
    for (let at: string | null = id; at !== null; ) {
      if (turns.length >= MAX_CHAIN)
        throw new ClientError(`previous_response_id: the conversation has more than ${MAX_CHAIN} stored turns`, {
          param: 'previous_response_id',
          code: 'conversation_too_long',
        });
      const turn = this.get(at, owner);
      if (!turn) {
        const message =
          at === id
            ? `Previous response with id '${id.slice(0, 100)}' not found.`
            : `Previous response with id '${id.slice(0, 100)}' continues '${at.slice(0, 100)}', which is no longer stored.`;
        throw new ClientError(message, { param: 'previous_response_id', code: 'previous_response_not_found' });
      }
      turns.push(turn);
      at = turn.previousId;
    }
    return turns.reverse().flatMap((t) => [...t.input, ...(t.response.output as InputItem[])]);
  }

  /** Deletes up to `limit` turns older than the retention; returns how many went. */
  pruneBatch(limit: number): number {
    return this.stmts.prune.run(this.now() - this.opts.retentionMs(), limit).changes;
  }
}

/** 404 in OpenAI's words for a response that is missing or someone else's. */
export function responseNotFound(id: string): NotFoundError {
  return new NotFoundError(`No response found with id '${id.slice(0, 100)}'.`, 'response_not_found');
}
