// The knowledge worker thread: runs prepare.ts's pure functions on large documents so the main thread stays free.
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { FlowRouterError } from '../core/errors.ts';
import { transferablesOf, type PackedChunks } from './chunk-list.ts';
import { parseDocumentsBody, prepareItem } from './ingest/http-body.ts';
import { decodeOp, storedDigest, type PreparedPut } from './prepare.ts';
import type { OffloadRequest, WorkerError } from './offload.ts';

function transfers(put: PreparedPut | null): ArrayBuffer[] {
  if (!put) return [];
  const stored = put.stored instanceof Uint8Array ? [put.stored.buffer as ArrayBuffer] : [];
  return Array.isArray(put.chunks) ? stored : [...stored, ...transferablesOf(put.chunks as PackedChunks)];
}

/** Connections for checkpoints, one per database file, open for the worker's life. */
const databases = new Map<string, Database.Database>();

function run(req: OffloadRequest): { result: unknown; transfer: ArrayBuffer[] } {
  switch (req.task) {
    case 'ingest': {
      const puts = parseDocumentsBody(req.body).map((item) => prepareItem(item, req.now));
      return { result: puts, transfer: puts.flatMap(transfers) };
    }
    case 'decode': {
      const op = decodeOp(req.bytes);
      return { result: op, transfer: transfers(op.put) };
    }
    case 'digest':
      return { result: storedDigest(req.stored), transfer: [] };
    case 'checkpoint': {
      let db = databases.get(req.file);
      if (!db) databases.set(req.file, (db = new Database(req.file, { fileMustExist: true })));
      db.pragma('wal_checkpoint(PASSIVE)');
      return { result: undefined, transfer: [] };
    }
  }
}

parentPort!.on('message', (req: OffloadRequest) => {
  try {
    const { result, transfer } = run(req);
    parentPort!.postMessage({ id: req.id, result }, transfer);
  } catch (err) {
    const e = err as Error;
    const error: WorkerError =
      err instanceof FlowRouterError ? { message: e.message, status: err.status, code: err.code, param: err.param } : { message: e?.message ?? String(err) };
    parentPort!.postMessage({ id: req.id, error });
  }
});
