import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ExtraRoute } from '../http/server.js';
import { parseListenAddress } from '../http/listener.js';
import { reply } from '../http/respond.js';

/** The `http.debug.addr` listener: operators' endpoints, never the registry API. */
export interface DebugServer {
  /** The port it listens on (the real one when the address asked for port 0). */
  readonly port: number;
  /** Stops listening and cuts open connections (scrapers keep theirs alive). */
  close(): Promise<void>;
}

/**
 * Serves each route on its exact path (any method, the query ignored) on `addr` (`host:port` or
 * `:port`, as `http.addr`), and 404 elsewhere. Plain HTTP, as Distribution's debug server: it is
 * meant for a private network. Rejects with ListenError for a malformed address.
 */
export async function startDebugServer(addr: string, routes: readonly ExtraRoute[]): Promise<DebugServer> {
  const { host, port } = parseListenAddress(addr);
  const byPath = new Map(routes.map((route) => [route.path, route]));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://debug.invalid/');
    const route = byPath.get(url.pathname);
    if (!route) return reply(res, 404, { 'Content-Type': 'text/plain' }, 'not found\n');
    route.handle(req, res, url).catch(() => {
      if (!res.headersSent) reply(res, 500, { 'Content-Type': 'text/plain' }, 'internal error\n');
      else res.destroy();
    });
  });
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
