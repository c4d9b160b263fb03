// A TCP relay on 127.0.0.1 that can black-hole its connections: frozen, nothing gets through either way while both
// sockets stay open, which is what a peer whose network vanished looks like (no reset, no FIN, just silence). Bytes
// sent meanwhile wait, as TCP retransmits them on a real link, and arrive once it is thawed.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface BlackholeProxy {
  port: number;
  /** Relays nothing from now on; open connections stay open. */
  freeze(): void;
  /** Relays again, what was held back first. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    if (frozen) s.pause();
  };
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    track(inbound);
    track(outbound);
    // Not pipe(): a destination's drain would resume a frozen source.
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ]) {
      from.on('data', (d: Buffer) => {
        if (!to.destroyed) to.write(d);
      });
      from.once('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    thaw: () => {
      frozen = false;
      for (const s of sockets) s.resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
