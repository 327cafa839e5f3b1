import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  /** Request headers that show how a client sends and resumes. */
  readonly range?: string;
  readonly contentLength?: string;
  readonly transferEncoding?: string;
  readonly status: number;
  readonly contentRange?: string;
  /** True for the answer the proxy cut short. */
  readonly cut: boolean;
}

/** A canned answer the proxy gives instead of forwarding (an upstream that refuses). */
export interface Refusal {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface RecordingProxy {
  readonly hostPort: string;
  readonly requests: readonly ProxiedRequest[];
  /** From now on, answers every request with `refusal` (recorded too); undefined forwards again. */
  refuse(refusal: Refusal | undefined): void;
  close(): Promise<void>;
}

export interface CutOptions {
  /** Which answer to cut: the first 200 answer to a request this matches. */
  when: (req: IncomingMessage) => boolean;
  /** Body bytes passed through before the connection is broken. */
  afterBytes: number;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a registry (target is host:port) that records every
 * request and its answer, so a test can see how a client talks. With `cut`, it breaks the
 * connection of one answer part way through, as a flaky network would.
 */
export async function startProxy(target: string, cut?: CutOptions): Promise<RecordingProxy> {
  const [host, port] = target.split(':');
  const requests: ProxiedRequest[] = [];
  let armed = cut !== undefined;
  let refusal: Refusal | undefined;
  const server = createServer((req, res) => {
    if (refusal) {
      const { status, headers, body } = refusal;
      requests.push({ method: req.method ?? '', url: req.url ?? '', status, cut: false });
      req.resume();
      res.writeHead(status, headers).end(body);
      return;
    }
    const upstream = request(
      { host, port: Number(port), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const cutThis = armed && answer.statusCode === 200 && cut !== undefined && cut.when(req);
        if (cutThis) armed = false;
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          range: req.headers.range,
          contentLength: req.headers['content-length'],
          transferEncoding: req.headers['transfer-encoding'],
          status: answer.statusCode ?? 0,
          contentRange: answer.headers['content-range'],
          cut: cutThis,
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!cutThis || cut === undefined) {
          answer.pipe(res);
          return;
        }
        const { afterBytes } = cut;
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= afterBytes) return;
          const part = chunk.subarray(0, afterBytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= afterBytes) {
            answer.destroy();
            // Let the bytes already written reach the client, then drop the connection.
            setTimeout(() => res.socket?.destroy(), 50);
          }
        });
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    hostPort: `127.0.0.1:${address.port}`,
    requests,
    refuse: (answer) => {
      refusal = answer;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ConnectProxy {
  /** For HTTPS_PROXY: `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The `host:port` of every tunnel opened, in order. */
  readonly tunnels: readonly string[];
  close(): Promise<void>;
}

/**
 * An HTTP CONNECT proxy on 127.0.0.1 that tunnels `name:PORT` (any port) to 127.0.0.1:PORT and
 * refuses every other target. A client given it as HTTPS_PROXY reaches a registry on 127.0.0.1
 * under a host name that resolves nowhere, and so treats it like any remote registry (dockerd
 * counts 127.0.0.0/8 as an insecure registry and skips certificate checks there).
 */
export async function startConnectProxy(name: string): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const open = new Set<Duplex>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const target = /^([^:/]+):(\d+)$/.exec(req.url ?? '');
    if (!target || target[1]!.toLowerCase() !== name.toLowerCase()) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    tunnels.push(req.url!);
    const upstream: Socket = connect(Number(target[2]), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    open.add(upstream);
    const closeBoth = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', closeBoth);
    upstream.on('close', () => {
      open.delete(upstream);
      closeBoth();
    });
    client.on('close', closeBoth);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    tunnels,
    close: async () => {
      for (const socket of open) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
