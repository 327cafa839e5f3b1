import { connect } from 'node:net';

/**
 * One HTTP/1.1 request written byte for byte on its own connection. node:http's client (and
 * `rawRequest` in ../http.ts, built on it) checks header names and values, sets Content-Length
 * from the body and refuses control characters, so it cannot send most of what a hostile
 * client sends; here everything goes out as given.
 */
export interface WireRequest {
  method: string;
  /** The request target as sent: no normalisation, no encoding. */
  target: string;
  /** In order, duplicates allowed. A Content-Length here replaces the computed one. */
  headers: [string, string][];
  /** One buffer goes out with its length; a list goes out chunked, one chunk per piece. */
  body?: Buffer | Buffer[];
  /** The request line's protocol, `HTTP/1.1` unless given. */
  version?: string;
}

export interface WireAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export type WireOutcome = { kind: 'answer'; answer: WireAnswer } | { kind: 'no-answer'; reason: string };

/** The bytes of the request: request line, headers, `Connection: close`, body. */
export function serialize(request: WireRequest, hostPort: string): Buffer {
  const lines = [`${request.method} ${request.target} ${request.version ?? 'HTTP/1.1'}`, `Host: ${hostPort}`];
  const has = (name: string) => request.headers.some(([key]) => key.toLowerCase() === name);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const { body } = request;
  if (Array.isArray(body) && !has('transfer-encoding')) lines.push('Transfer-Encoding: chunked');
  if (Buffer.isBuffer(body) && !has('content-length')) lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close', '', '');
  const head = Buffer.from(lines.join('\r\n'), 'latin1');
  if (body === undefined) return head;
  if (Buffer.isBuffer(body)) return Buffer.concat([head, body]);
  const pieces = body.filter((piece) => piece.length > 0).flatMap((piece) => [Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  return Buffer.concat([head, ...pieces, Buffer.from('0\r\n\r\n')]);
}

/**
 * Sends the request to 127.0.0.1:`port` and reads the answer until the server closes the
 * connection. No answer within `timeoutMs` (or a connection cut before any byte came back) is
 * a 'no-answer' outcome, for the caller to judge.
 */
export async function sendWire(port: number, request: WireRequest, timeoutMs: number): Promise<WireOutcome> {
  const bytes = serialize(request, `127.0.0.1:${port}`);
  return await new Promise<WireOutcome>((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      const answer = received.length > 0 ? parseAnswer(received, request.method) : undefined;
      resolve(answer ? { kind: 'answer', answer } : { kind: 'no-answer', reason: received.length > 0 ? 'unparsable answer' : reason });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish('connection closed without an answer'));
    socket.on('close', () => finish('connection closed without an answer'));
    // A server may answer and close before reading the whole body: the write then fails, and the
    // answer already read still counts.
    socket.on('error', (error) => finish(`connection error: ${error.message}`));
    socket.write(bytes);
  });
}

/** Parses a complete HTTP/1.1 answer (the server has closed the connection after it). */
export function parseAnswer(received: Buffer, method: string): WireAnswer | undefined {
  // Interim answers (100 Continue to `Expect: 100-continue`) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(received.subarray(0, 13).toString('latin1'))) {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    received = received.subarray(end + 4);
  }
  const headEnd = received.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = received.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const code = Number(status[1]);
  let body = received.subarray(headEnd + 4);
  if (method === 'HEAD' || code === 204 || code === 304) body = Buffer.alloc(0);
  else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: code, headers, body };
}

function dechunk(bytes: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    pieces.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(pieces);
}
