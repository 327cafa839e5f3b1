import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** A plain TCP connection to a test registry, for clients no HTTP library would imitate (slow, stalled, rude). */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything the server has sent so far. */
  received(): Buffer;
  /** Resolves when the server (or the test) closed the connection, with the time it happened. */
  readonly closed: Promise<number>;
  /** Writes bytes one small piece at a time, `everyMs` apart, until `total` are sent or the connection closes. */
  trickle(byte: string, total: number, everyMs: number): Promise<number>;
}

/** Connects to 127.0.0.1:port; with `ca`, over TLS speaking HTTP/1.1 (ALPN), trusting that CA. */
export async function openRaw(port: number, options: { ca?: Buffer } = {}): Promise<RawConnection> {
  const socket = options.ca
    ? connectTls({ host: '127.0.0.1', port, ca: options.ca, ALPNProtocols: ['http/1.1'] })
    : connect({ host: '127.0.0.1', port });
  await once(socket, options.ca ? 'secureConnect' : 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A reset from the server is one of the ways it may cut us; the test looks at `closed`.
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return {
    socket,
    received: () => Buffer.concat(chunks),
    closed,
    async trickle(byte, total, everyMs) {
      let sent = 0;
      while (sent < total && !isClosed && socket.writable) {
        socket.write(byte);
        sent += Buffer.byteLength(byte);
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      return sent;
    },
  };
}

/** Status and parsed JSON body of the (single) HTTP/1.1 answer in `raw`. */
export function parseAnswer(raw: Buffer): { status: number; headers: string; body: unknown } {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? NaN);
  const rest = end < 0 ? '' : text.slice(end + 4);
  let body: unknown;
  try {
    body = rest ? JSON.parse(rest) : undefined;
  } catch {
    body = rest;
  }
  return { status, headers: head, body };
}
