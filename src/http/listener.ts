import cluster from 'node:cluster';
import { once } from 'node:events';
import { lstat, readFile, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createSecureServer,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket, TlsOptions as NodeTlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { isHttp2Request } from './http2-request.js';
import { defaultHeaderSize } from './request-limits.js';
import { SlowClientGuard, type ClientTimeouts } from './timeouts.js';

/** A problem with the listen settings; the message names the config key. */
export class ListenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenError';
  }
}

/** Client certificate policies, spelled as Distribution's `http.tls.clientauth`. */
export const clientAuthModes = [
  'request-client-cert',
  'require-any-client-cert',
  'verify-client-cert-if-given',
  'require-and-verify-client-cert',
] as const;
export type ClientAuthMode = (typeof clientAuthModes)[number];

/** TLS versions, spelled as Distribution's `http.tls.minimumtls`. */
const tlsVersions = { 'tls1.0': 'TLSv1', 'tls1.1': 'TLSv1.1', 'tls1.2': 'TLSv1.2', 'tls1.3': 'TLSv1.3' } as const;
export type TlsVersion = keyof typeof tlsVersions;
export const tlsVersionNames = Object.keys(tlsVersions) as [TlsVersion, ...TlsVersion[]];

export interface TlsOptions {
  /** `http.tls.certificate`: PEM file with the server certificate (and its chain). */
  certificate: string;
  /** `http.tls.key`: PEM file with the private key. */
  key: string;
  /** `http.tls.clientcas`: PEM files of the CAs client certificates must chain to. */
  clientCas?: readonly string[];
  /** `http.tls.clientauth`; with clientCas and no mode, `require-and-verify-client-cert`. */
  clientAuth?: ClientAuthMode;
  /** `http.tls.minimumtls`; default `tls1.2`. */
  minimumTls?: TlsVersion;
}

export interface ListenOptions {
  /** `http.net`: a TCP address or a unix socket path. */
  net: 'tcp' | 'unix';
  /** `http.addr`: `host:port`, `:port`, `[ipv6]:port`, or the socket path for `unix`. */
  addr: string;
  /** `http.tls`: serve HTTPS. */
  tls?: TlsOptions;
  /** HTTP/2 over TLS (ALPN `h2`, HTTP/1.1 for the rest); false for `http.http2.disabled`. Default true. */
  http2?: boolean;
  /** `http.h2c.enabled`: also take HTTP/2 with prior knowledge on a plain connection. Default false. */
  h2c?: boolean;
  /** `http.timeouts.*` and `http.maxconnections`; unset values take defaultClientTimeouts. */
  timeouts?: Partial<ClientTimeouts>;
  /** Where requests cut for slowness and refused connections are logged. */
  log?: Logger;
  /** `limits.headersize`: bytes of a request head over HTTP/1; Node answers a larger one with 431. Default in request-limits.ts. */
  maxHeaderSize?: number;
}

/**
 * The registry's request handler. HTTP/2 requests reach it as node:http2 compat objects typed as
 * their node:http counterparts: both offer what handlers use (method, url, headers, the body as a
 * stream; writeHead, setHeader, getHeader, write, end, destroy, headersSent, writableFinished,
 * `req`, the `close` event). Handlers must not touch the socket or set connection headers
 * (`Connection`, `Keep-Alive`, `Transfer-Encoding`), which HTTP/2 forbids.
 */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Listener {
  /** `https://127.0.0.1:5000`-style description for the startup log, or `unix:/path`. */
  readonly url: string;
  /** The bound IP address, or the unix socket path. */
  readonly address: string;
  /** The bound TCP port (useful with port 0); undefined on a unix socket. */
  readonly port: number | undefined;
  /**
   * Stops accepting connections and closes idle ones at once, lets requests in flight finish for
   * up to drainMs (answers sent meanwhile close their connection; HTTP/2 sessions get GOAWAY),
   * then cuts whatever is left. Resolves when every connection is gone, with `drained` false if
   * something had to be cut. Calling it again returns the same promise.
   */
  close(drainMs: number): Promise<{ drained: boolean }>;
}

/** Splits Distribution's `http.addr` (`host:port`, `:port`, `[::1]:port`) for net.listen. */
export function parseListenAddress(addr: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!match) throw new ListenError(`http.addr: expected host:port or :port, not ${JSON.stringify(addr)}`);
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port > 65535) throw new ListenError(`http.addr: port ${port} is out of range (0-65535)`);
  return { host: host ? host : undefined, port };
}

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4); no HTTP/1 request starts so. */
const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Creates the server for the options (HTTP, HTTPS with optional mTLS, HTTP/2 over TLS, h2c),
 * binds it, and tracks connections and requests so close() can drain them.
 */
export async function listen(handler: RequestHandler, options: ListenOptions): Promise<Listener> {
  const tracker = new RequestTracker();
  const guard = new SlowClientGuard(options.timeouts, options.log);
  const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    tracker.started(req, res);
    guard.track(req as IncomingMessage, res as ServerResponse);
    handler(req as IncomingMessage, res as ServerResponse);
  };
  const server = await createServerFor(onRequest, options, tracker, guard);
  guard.limitConnections(server);
  // In a cluster worker the primary binds the socket once for every worker (and has removed a
  // stale one before forking); removing it here would pull it from under the other workers.
  const socketPath = async (path: string) => (cluster.isWorker ? path : await removeStaleSocket(path));
  const address = options.net === 'unix' ? { path: await socketPath(options.addr) } : parseListenAddress(options.addr);
  const listening = once(server, 'listening');
  const failed = once(server, 'error').then(([error]) => {
    throw new ListenError(`cannot listen on ${options.addr}: ${(error as Error).message}`, { cause: error });
  });
  server.listen(address);
  await Promise.race([listening, failed]);
  failed.catch(() => undefined);

  const scheme = options.tls ? 'https' : 'http';
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? (bound as AddressInfo).port : undefined;
  const url =
    options.net === 'unix'
      ? `unix:${options.addr}`
      : `${scheme}://${formatHost((bound as AddressInfo).address)}:${port}`;
  let closing: Promise<{ drained: boolean }> | undefined;
  return {
    url,
    address: options.net === 'unix' ? options.addr : (bound as AddressInfo).address,
    port,
    close: (drainMs) => (closing ??= tracker.drain(server, drainMs).finally(() => guard.close())),
  };
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

async function createServerFor(
  onRequest: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void,
  options: ListenOptions,
  tracker: RequestTracker,
  guard: SlowClientGuard,
): Promise<NetServer> {
  if (options.tls) {
    const tls = await secureContextOptions(options.tls);
    const server =
      options.http2 === false
        ? createHttpsServer({ ...tls, ALPNProtocols: ['http/1.1'], maxHeaderSize: options.maxHeaderSize ?? defaultHeaderSize }, onRequest)
        : createSecureServer({ ...tls, allowHTTP1: true }, onRequest);
    // The HTTP/2 server hands HTTP/1 connections to node:http's connection handling, which reads
    // the same timeout properties; its own sessions get the idle timeout.
    guard.configure(server as unknown as HttpServer);
    // node:http reads the head limit from the server per connection, the HTTP/2 server's HTTP/1 fallback included.
    Object.assign(server, { maxHeaderSize: options.maxHeaderSize ?? defaultHeaderSize });
    tracker.watch(server, true);
    if (options.http2 !== false) tracker.watchSessions(server);
    if (options.tls.clientCas?.length) enforceClientAuth(server, options.tls.clientAuth ?? 'require-and-verify-client-cert');
    return server;
  }
  const http1 = createHttpServer({ maxHeaderSize: options.maxHeaderSize ?? defaultHeaderSize }, onRequest);
  guard.configure(http1);
  if (!options.h2c) {
    tracker.watch(http1, false);
    return http1;
  }
  // Node's cleartext HTTP/2 server cannot fall back to HTTP/1, so a plain TCP server looks at the
  // first bytes of each connection and hands it to the right one.
  const http2 = createHttp2Server({}, onRequest);
  const front = createNetServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      // Paused, the chunk waits in the socket's buffer for whichever server takes it: HTTP/2 reads
      // what is buffered first; HTTP/1 reads it once resumed.
      socket.pause();
      socket.unshift(chunk);
      const head = chunk.subarray(0, http2Preface.length);
      const isHttp2 = head.equals(http2Preface.subarray(0, head.length));
      (isHttp2 ? http2 : http1).emit('connection', socket);
      if (!isHttp2) socket.resume();
    });
  });
  tracker.watch(front, false);
  tracker.watchSessions(http2);
  guard.configureSessions(http2);
  // node:http checks header and request timeouts from its 'listening' event, which a server fed
  // connections by another never gets.
  front.once('listening', () => http1.emit('listening'));
  front.once('close', () => http1.close());
  return front;
}

async function secureContextOptions(tls: TlsOptions): Promise<SecureContextOptions & NodeTlsOptions> {
  const read = async (key: string, file: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ListenError(`${key}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  const options: SecureContextOptions & NodeTlsOptions = {
    cert: await read('http.tls.certificate', tls.certificate),
    key: await read('http.tls.key', tls.key),
    minVersion: tlsVersions[tls.minimumTls ?? 'tls1.2'],
  };
  if (tls.clientCas?.length) {
    const mode = tls.clientAuth ?? 'require-and-verify-client-cert';
    options.ca = await Promise.all(tls.clientCas.map((file) => read('http.tls.clientcas', file)));
    options.requestCert = true;
    // Only the strict mode can be left to the handshake; the others are checked once it is done.
    options.rejectUnauthorized = mode === 'require-and-verify-client-cert';
  }
  return options;
}

/** Applies the client certificate policies the TLS handshake cannot express by itself. */
function enforceClientAuth(server: NetServer, mode: ClientAuthMode): void {
  if (mode === 'require-and-verify-client-cert' || mode === 'request-client-cert') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    const refused = mode === 'require-any-client-cert' ? !presented : presented && !socket.authorized;
    if (refused) socket.destroy();
  });
}

/**
 * A unix socket path ready to bind: a stale socket left by a previous run is removed (as
 * Distribution does); any other file there is an error.
 */
export async function removeStaleSocket(path: string): Promise<string> {
  try {
    const stat = await lstat(path);
    if (!stat.isSocket()) throw new ListenError(`http.addr: ${path} exists and is not a socket`);
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return path;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * Knows every connection, HTTP/2 session and request in flight, so a shutdown can close what is
 * idle at once and the rest as soon as its last answer is sent.
 */
class RequestTracker {
  /** Every accepted TCP (or unix) connection, cut when the drain time is over. */
  private readonly raw = new Set<Socket>();
  /** Connections that carry requests: the raw socket, or the TLS socket once the handshake is done. */
  private readonly connections = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/1 connections with the number of requests in flight on each. */
  private readonly busy = new Map<Socket, number>();
  private readonly inFlight = new Set<AnyResponse>();
  private draining = false;
  private onIdle: (() => void) | undefined;

  /** Tracks the connections a listening server accepts; `secure` for a TLS server. */
  watch(server: NetServer, secure: boolean): void {
    server.on('connection', (socket: Socket) => {
      this.raw.add(socket);
      socket.once('close', () => this.raw.delete(socket));
      if (!secure) this.addConnection(socket);
    });
    if (secure) server.on('secureConnection', (socket: TLSSocket) => this.addConnection(socket));
  }

  /** Tracks the HTTP/2 sessions of a server (the TLS server itself, or the h2c one). */
  watchSessions(server: NetServer): void {
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
  }

  started(req: AnyRequest, res: AnyResponse): void {
    this.inFlight.add(res);
    const http1Socket = isHttp2Request(req) ? undefined : (req.socket as Socket);
    if (http1Socket) this.busy.set(http1Socket, (this.busy.get(http1Socket) ?? 0) + 1);
    // Connection headers are HTTP/1 only; an answer sent while draining ends its connection.
    if (this.draining && http1Socket) res.setHeader('Connection', 'close');
    res.once('close', () => {
      this.inFlight.delete(res);
      if (http1Socket) {
        const left = (this.busy.get(http1Socket) ?? 1) - 1;
        if (left > 0) this.busy.set(http1Socket, left);
        else this.busy.delete(http1Socket);
      }
      if (this.draining) this.closeIdle();
    });
  }

  async drain(server: NetServer, drainMs: number): Promise<{ drained: boolean }> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of this.inFlight) {
      if (!res.headersSent && !isHttp2Request(res.req)) res.setHeader('Connection', 'close');
    }
    for (const session of this.sessions) session.close();
    const idle = new Promise<void>((resolve) => {
      this.onIdle = resolve;
    });
    this.closeIdle();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    // Answers just sent may still be flushing on connections that close themselves (Connection:
    // close, GOAWAY); the server's close waits for those, within the same time limit.
    await Promise.race([idle.then(() => closed), expired]);
    clearTimeout(timer);
    const drained = this.inFlight.size === 0;
    for (const session of this.sessions) session.destroy();
    for (const socket of this.raw) socket.destroy();
    await closed;
    return { drained };
  }

  private addConnection(socket: Socket): void {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    if (this.draining) this.closeIdle();
  }

  /** Closes every connection with nothing in flight; once no request is left, ends drain's wait. */
  private closeIdle(): void {
    const sessionSockets = new Set<unknown>([...this.sessions].map((session) => session.socket));
    for (const socket of this.connections) {
      if (!sessionSockets.has(socket) && !this.busy.has(socket)) socket.destroy();
    }
    if (this.inFlight.size === 0) this.onIdle?.();
  }
}
