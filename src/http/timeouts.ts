import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2Session } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import { RegistryError } from '../protocol/errors.js';
import { replyJson } from './respond.js';
import { isHttp2Request } from './http2-request.js';

/**
 * How long a client may take, so slow or stalled clients cannot hold connections, memory and
 * upload sessions (`http.timeouts.*`, `http.maxconnections`). Every value 0 turns its check off.
 */
export interface ClientTimeouts {
  /** `http.timeouts.header`: the whole request head (request line and headers) must arrive within it. */
  headerMs: number;
  /**
   * `http.timeouts.idle`: a request whose body stops arriving, or whose answer the client stops
   * reading, for this long is cut. Time the registry itself spends (storage, hashing) does not count.
   */
  idleMs: number;
  /**
   * `http.timeouts.minrate`: bytes per second a request body must average once the grace period
   * is over. Each byte resets the idle timer, so this is what stops a client that trickles.
   */
  minRate: number;
  /** `http.timeouts.minrategrace`: how long a body may be slower than minRate (TCP slow start, a pause). */
  minRateGraceMs: number;
  /** `http.timeouts.request`: a hard cap on receiving a whole request, head and body. */
  requestMs: number;
  /** `http.maxconnections`: connections beyond this are closed at once. */
  maxConnections: number;
}

/** The defaults the config schema writes too; tests start from them. */
export const defaultClientTimeouts: ClientTimeouts = {
  headerMs: 30_000,
  idleMs: 60_000,
  minRate: 1024,
  minRateGraceMs: 10_000,
  requestMs: 0,
  maxConnections: 0,
};

/**
 * Between requests a connection is kept at least this long: load balancers (AWS ALB, nginx)
 * keep idle upstream connections 60 s, and must be the side that closes them, or a request they
 * send as the registry closes is lost.
 */
const minKeepAliveMs = 65_000;

/** A request in flight on an HTTP/1 connection, with what the min-rate check needs. */
interface Tracked {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly socket: Socket;
  /** socket.bytesRead when the previous answer on the connection ended: the head and body are counted after it. */
  readonly bytesAtStart: number;
  /** Time spent waiting for the client's body (not for the registry to read it). */
  waitedMs: number;
}

/**
 * Applies ClientTimeouts to HTTP/1 servers (node:http, node:https, and the HTTP/1 side of the
 * HTTP/2 server) and checks body rates. Node enforces the header and request timeouts; what it
 * answers then (an empty 408) is replaced here by an answer in the spec's error format.
 */
export class SlowClientGuard {
  private readonly timeouts: ClientTimeouts;
  private readonly log: Logger | undefined;
  private readonly inFlight = new Map<Socket, Tracked>();
  /** HTTP/2 requests in flight, by session: what decides whether an idle session may be closed. */
  private readonly streams = new Map<Http2Session, Set<{ req: IncomingMessage; res: ServerResponse }>>();
  /**
   * socket.bytesRead when the last answer on each connection ended. Node may have read the head
   * and a first piece of the body in one go before the request starts, so a count taken then
   * would miss bytes the client did send.
   */
  private readonly readBefore = new WeakMap<Socket, number>();
  private sweep: NodeJS.Timeout | undefined;
  private lastSweep = performance.now();
  private droppedSince = 0;
  private lastDropLog = 0;

  constructor(timeouts: Partial<ClientTimeouts> = {}, log?: Logger) {
    this.timeouts = { ...defaultClientTimeouts, ...timeouts };
    this.log = log;
  }

  /** How often timeouts are checked: often enough for short test timeouts, at most once a second. */
  get checkIntervalMs(): number {
    const { headerMs, requestMs, minRateGraceMs, minRate } = this.timeouts;
    const set = [headerMs, requestMs, minRate > 0 ? minRateGraceMs : 0].filter((ms) => ms > 0);
    return Math.max(50, Math.min(1000, ...set.map((ms) => ms / 4)));
  }

  /**
   * Sets the timeouts on an HTTP/1 server before it listens (Node reads the checking interval on
   * 'listening'), and answers and logs what they cut.
   */
  configure(server: HttpServer): void {
    const { headerMs, requestMs, idleMs } = this.timeouts;
    // Node refuses a header timeout longer than a (non-zero) request timeout.
    server.headersTimeout = requestMs > 0 && headerMs > requestMs ? requestMs : headerMs;
    server.requestTimeout = requestMs;
    // Node's typings know it only as a constructor option; the server reads the property on 'listening'.
    (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = this.checkIntervalMs;
    server.keepAliveTimeout = Math.max(idleMs, minKeepAliveMs);
    // With a 'timeout' listener Node leaves the socket to us (see onIdle).
    server.timeout = idleMs;
    server.on('timeout', (target: Socket | Http2Session) => this.onIdle(target));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
  }

  /**
   * The idle timeout for a cleartext HTTP/2 server's sessions: one with no traffic for idleMs is
   * closed. (Node's HTTP/2 server has no header or body-rate timeouts to set.)
   */
  configureSessions(server: NetServer): void {
    (server as unknown as { timeout: number }).timeout = this.timeouts.idleMs;
    server.on('timeout', (session: Http2Session) => this.onIdle(session));
  }

  /** Caps the connections of the listening server (the TLS or plain TCP one) and logs refusals. */
  limitConnections(server: NetServer): void {
    if (this.timeouts.maxConnections <= 0) return;
    server.maxConnections = this.timeouts.maxConnections;
    server.on('drop', () => {
      this.droppedSince++;
      // One line per 10 s at most: a flood of refused connections must not become a flood of logs.
      const now = Date.now();
      if (now - this.lastDropLog < 10_000) return;
      this.log?.warn({ dropped: this.droppedSince, max_connections: this.timeouts.maxConnections }, 'connections refused: http.maxconnections reached');
      this.droppedSince = 0;
      this.lastDropLog = now;
    });
  }

  /** Follows an HTTP/1 request until its answer is done. */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (isHttp2Request(req)) {
      this.trackStream(req, res);
      return;
    }
    const socket = req.socket;
    const tracked: Tracked = { req, res, socket, bytesAtStart: this.readBefore.get(socket) ?? 0, waitedMs: 0 };
    this.inFlight.set(socket, tracked);
    res.once('close', () => {
      this.readBefore.set(socket, socket.bytesRead);
      if (this.inFlight.get(socket) === tracked) this.inFlight.delete(socket);
    });
    if (this.timeouts.minRate > 0 && !this.sweep) {
      this.lastSweep = performance.now();
      this.sweep = setInterval(() => this.checkRates(), this.checkIntervalMs).unref();
    }
  }

  private trackStream(req: IncomingMessage, res: ServerResponse): void {
    const session = (req as unknown as Http2ServerRequest).stream.session;
    if (!session) return;
    let streams = this.streams.get(session);
    if (!streams) this.streams.set(session, (streams = new Set()));
    const entry = { req, res };
    streams.add(entry);
    res.once('close', () => {
      streams.delete(entry);
      if (streams.size === 0 && this.streams.get(session) === streams) this.streams.delete(session);
    });
  }

  /** Stops the rate checks (the server is closing). */
  close(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
  }

  private checkRates(): void {
    const now = performance.now();
    const elapsed = now - this.lastSweep;
    this.lastSweep = now;
    const { minRate, minRateGraceMs } = this.timeouts;
    for (const tracked of this.inFlight.values()) {
      if (tracked.req.complete || tracked.res.headersSent) continue;
      if (!waitingForClient(tracked.req)) continue;
      tracked.waitedMs += elapsed;
      if (tracked.waitedMs < minRateGraceMs) continue;
      const rate = (tracked.socket.bytesRead - tracked.bytesAtStart) / (tracked.waitedMs / 1000);
      if (rate < minRate) {
        this.cut(tracked, 'body slower than http.timeouts.minrate', { bytes_per_second: Math.round(rate), min_rate: minRate });
      }
    }
    if (this.inFlight.size === 0) this.close();
  }

  /** The connection saw no traffic for idleMs (or keepAliveTimeout between HTTP/1 requests). */
  private onIdle(target: Socket | Http2Session): void {
    const streams = this.streams.get(target as Http2Session);
    if (streams) {
      this.onSessionIdle(target as Http2Session, streams);
      return;
    }
    const socket = target as Socket;
    const tracked = this.inFlight.get(socket);
    if (!tracked) {
      // Between requests, or a head that stopped coming: nothing to answer.
      socket.destroy();
      return;
    }
    const { req, res } = tracked;
    if (!res.headersSent) {
      // The registry is still working (storage, hashing a finished upload) or has not read what
      // the client sent: the client is not at fault. Node re-arms the timer on the next traffic.
      if (req.complete || !waitingForClient(req)) return;
      this.cut(tracked, 'request body stalled longer than http.timeouts.idle', { idle_ms: this.timeouts.idleMs });
      return;
    }
    if (res.writableNeedDrain || socket.writableLength > 0) {
      this.cut(tracked, 'client stopped reading the answer for longer than http.timeouts.idle', { idle_ms: this.timeouts.idleMs });
    }
  }

  /**
   * An HTTP/2 connection with requests in flight went quiet. Node would close it, streams and all;
   * it is closed only when none of them waits on the registry itself.
   */
  private onSessionIdle(session: Http2Session, streams: ReadonlySet<{ req: IncomingMessage; res: ServerResponse }>): void {
    for (const { req, res } of streams) {
      if (!res.headersSent && (bodyReceived(req) || !waitingForClient(req))) return;
    }
    this.log?.warn({ streams: streams.size, idle_ms: this.timeouts.idleMs }, 'HTTP/2 connection idle longer than http.timeouts.idle');
    session.destroy();
  }

  /** Node's header and request timeouts, and requests it could not parse. */
  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const tracked = this.inFlight.get(socket);
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      if (tracked) {
        this.cut(tracked, 'request not received within http.timeouts.request', { request_ms: this.timeouts.requestMs });
        return;
      }
      this.log?.warn({ remote_addr: socket.remoteAddress, header_ms: this.timeouts.headerMs }, 'request head not received within http.timeouts.header');
      answerRaw(socket, 408, 'Request Timeout', timedOut('the request head did not arrive in time'));
      return;
    }
    // As Node does by default: an answer only when none is under way, and the connection ends.
    if (!tracked && socket.writable && error.code !== 'ECONNRESET') {
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = new RegistryError('UNSUPPORTED', {
        status: tooLarge ? 431 : 400,
        message: tooLarge ? 'request headers are too large' : 'malformed HTTP request',
      }).toBody();
      answerRaw(socket, tooLarge ? 431 : 400, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request', body);
      return;
    }
    socket.destroy();
  }

  /**
   * Ends a request the client is too slow for: 408 in the spec's format when the answer has not
   * started, then the connection is dropped (its body would otherwise keep coming). An upload
   * keeps what was stored so far, so the client can resume it.
   */
  private cut(tracked: Tracked, reason: string, fields: Record<string, number>): void {
    const { req, res, socket } = tracked;
    this.inFlight.delete(socket);
    this.log?.warn({ ...fields, method: req.method, path: req.url?.split('?')[0], remote_addr: socket.remoteAddress }, reason);
    // Once its answer has finished, Node no longer ends a request whose connection closes: a
    // handler still reading the body would wait forever, holding the upload's lock and file.
    socket.once('close', () => {
      if (!req.complete) req.destroy(new Error(`request cut: ${reason}`));
    });
    if (res.headersSent) {
      socket.destroy();
      return;
    }
    res.setHeader('Connection', 'close');
    replyJson(res, 408, timedOut(reason));
    res.once('finish', () => socket.destroy());
    // A client that does not read will not take the answer either.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

/** The spec's error body for a request cut for slowness. */
function timedOut(detail: string) {
  return new RegistryError('UNKNOWN', { status: 408, message: 'request timed out', detail }).toBody();
}

/**
 * True once the client has sent the whole request. An HTTP/2 request counts as `complete` only
 * once a handler has read it to the end, so there the stream's own state says it.
 */
function bodyReceived(req: IncomingMessage): boolean {
  if (!isHttp2Request(req)) return req.complete;
  const stream = (req as unknown as Http2ServerRequest).stream;
  return stream.endAfterHeaders || stream.state?.remoteClose === 1 || req.readableEnded;
}

/**
 * True while the request body is what the request waits for: the registry's buffer has room, so
 * if no bytes come it is the client's doing. (A full buffer means the registry is not reading.)
 */
function waitingForClient(req: IncomingMessage): boolean {
  return req.readableLength < req.readableHighWaterMark;
}

/** An answer written straight to a connection that has no response object (the head never came). */
function answerRaw(socket: Socket, status: number, reason: string, body: unknown): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(json)}\r\n` +
      'Docker-Distribution-API-Version: registry/2.0\r\n' +
      'Connection: close\r\n\r\n' +
      json,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}
