import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

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

export interface RecordingProxy {
  readonly hostPort: string;
  readonly requests: readonly ProxiedRequest[];
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
  const server = createServer((req, res) => {
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
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
