import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/**
 * True for a request that came over HTTP/2 (Node's compatibility API, which gives it a `stream`).
 * The version in a request line proves nothing: Node's HTTP/1 parser takes `HTTP/2.0` or
 * `HTTP/0.9` from any client, and code that then reached for the HTTP/2 stream crashed.
 */
export function isHttp2Request(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return (req as Partial<Http2ServerRequest>).stream !== undefined;
}
