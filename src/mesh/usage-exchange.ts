// Asks members for their usage over `/flowrouter/usage/1.0.0`: a range goes out, rows come back in pages, then a final
// frame. Each answer is bounded in rows and time; what the rows mean is the usage module's business.
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { MeshProtocolError, MeshStreamClosed } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export const USAGE_PROTOCOL = '/flowrouter/usage/1.0.0';
/** Rows per frame (a row is ~150 bytes of JSON): frames stay far below the 4 MB a stream buffers. */
const ROWS_PER_FRAME = 2_000;
const MAX_FRAME_BYTES = 3 * 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface UsageRange {
  from?: number;
  to?: number;
}

type Request = { from?: unknown; to?: unknown };
type Frame = { rows?: unknown[]; done?: boolean };

function readRange(input: unknown): UsageRange {
  const r = (typeof input === 'object' && input !== null ? input : {}) as Request;
  const time = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  return { from: time(r.from), to: time(r.to) };
}

/** Answers a member's question with this node's rows (`rowsFor` reads them) in pages. */
export function usageHandler(rowsFor: (range: UsageRange) => unknown[], timeoutMs: number, log: Logger) {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 });
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const range = readRange(JSON.parse(decoder.decode((await lp.read({ signal })).subarray())));
      const rows = rowsFor(range);
      for (let at = 0; at < rows.length; at += ROWS_PER_FRAME) {
        await lp.write(encoder.encode(JSON.stringify({ rows: rows.slice(at, at + ROWS_PER_FRAME) } satisfies Frame)), { signal });
      }
      await lp.write(encoder.encode(JSON.stringify({ done: true } satisfies Frame)), { signal });
      await stream.close({ signal });
    } catch (err) {
      log.info({ peer: connection.remotePeer.toString(), error: (err as Error).message }, 'usage:serve-failed');
      stream.abort(err instanceof Error ? err : new MeshStreamClosed('usage answer failed'));
    }
  };
}

/** A member's rows for the range, at most `maxRows`; rejects on a timeout (`signal`), a broken stream or a bad frame. */
export async function askUsage(host: Libp2p, peerId: string, range: UsageRange, maxRows: number, signal: AbortSignal): Promise<unknown[]> {
  const peer = peerIdFromString(peerId);
  const open = host.getConnections(peer).find((c) => c.status === 'open');
  const stream = open ? await open.newStream(USAGE_PROTOCOL, { signal }) : await host.dialProtocol(peer, USAGE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  try {
    await lp.write(encoder.encode(JSON.stringify(range)), { signal });
    const rows: unknown[] = [];
    for (;;) {
      const frame = JSON.parse(decoder.decode((await lp.read({ signal })).subarray())) as Frame;
      if (frame?.done === true) break;
      if (!Array.isArray(frame?.rows) || rows.length + frame.rows.length > maxRows) throw new MeshProtocolError('usage frame');
      rows.push(...frame.rows);
    }
    await stream.close({ signal }).catch(() => stream.abort(new MeshStreamClosed('close timed out')));
    return rows;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new MeshStreamClosed('usage question failed'));
    throw err;
  }
}
