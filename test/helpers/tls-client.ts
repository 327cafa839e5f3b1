import { connect as connectHttp2, constants, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';

const timeoutMs = 15_000;

export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS/1.1 request (no connection reuse). Rejects when the TLS handshake or the request fails. */
export async function httpsFetch(
  url: string,
  options: TlsClientOptions & { method?: string; headers?: RequestOptions['headers']; body?: Buffer | string } = {},
): Promise<SimpleResponse> {
  const { ca, cert, key, minVersion, maxVersion, method, headers, body } = options;
  return await new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: method ?? 'GET', headers, ca, cert, key, minVersion, maxVersion, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The protocol the server picks by ALPN when the client offers `offered`. */
export async function negotiatedProtocol(hostPort: string, offered: string[], ca: Buffer): Promise<string | false> {
  const [host, port] = hostPort.split(':');
  return await new Promise((resolve, reject) => {
    const socket = connectTls({ host, port: Number(port), ca, ALPNProtocols: offered, servername: 'localhost' }, () => {
      const protocol = socket.alpnProtocol ?? false;
      socket.end();
      resolve(protocol);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** An HTTP/2 session (over TLS with `ca`, or cleartext h2c for an http:// URL). Close it when done. */
export async function http2Session(url: string, options: TlsClientOptions = {}): Promise<ClientHttp2Session> {
  const session = connectHttp2(url, { ca: options.ca, cert: options.cert, key: options.key });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => undefined);
  return session;
}

/**
 * One request on an HTTP/2 session. `body` as a list of pieces is written piece by piece with no
 * content-length, as a client streaming a blob of unknown size does.
 */
export async function http2Fetch(
  session: ClientHttp2Session,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | readonly Buffer[] } = {},
): Promise<SimpleResponse> {
  const { body } = options;
  const headers: Record<string, string | number> = {
    [constants.HTTP2_HEADER_METHOD]: options.method ?? 'GET',
    [constants.HTTP2_HEADER_PATH]: path,
    ...options.headers,
  };
  if (Buffer.isBuffer(body)) headers['content-length'] = body.length;
  const stream = session.request(headers, { endStream: body === undefined });
  stream.setTimeout(timeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
  const answer = new Promise<SimpleResponse>((resolve, reject) => {
    let status = 0;
    let responseHeaders: SimpleResponse['headers'] = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.on('close', () => {
      if (status === 0) reject(new Error(`HTTP/2 stream for ${path} closed without an answer (code ${stream.rstCode})`));
    });
  });
  if (Buffer.isBuffer(body)) {
    stream.end(body);
  } else if (body !== undefined) {
    for (const piece of body) stream.write(piece);
    stream.end();
  }
  return await answer;
}
