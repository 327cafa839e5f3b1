import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface DroppingProxy {
  /** `127.0.0.1:PORT` to give the client instead of the registry. */
  hostPort: string;
  /** Connections cut so far. */
  drops(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a registry that cuts the connection once, in the middle of the first
 * request whose bytes start with `method` (e.g. a PATCH), after `afterBytes` bytes of it went
 * through: what a client sees when a network path drops during a chunk.
 */
export async function startDroppingProxy(target: string, method: string, afterBytes: number): Promise<DroppingProxy> {
  const [host, port] = target.split(':');
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    let counting: number | undefined;
    let cut = false;
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (dropped === 0 && counting === undefined) {
        const at = chunk.indexOf(`${method} `);
        if (at >= 0 && (at === 0 || chunk[at - 1] === 0x0a)) counting = -at;
      }
      if (counting !== undefined && dropped === 0) {
        const room = afterBytes - counting;
        if (chunk.length >= room) {
          upstream.write(chunk.subarray(0, Math.max(0, room)));
          dropped++;
          cut = true;
          // Let the partial bytes reach the registry before both ends go away.
          setTimeout(() => {
            upstream.destroy();
            client.destroy();
          }, 100);
          return;
        }
        counting += chunk.length;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    drops: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
