import type { Readable } from 'node:stream';

/**
 * The one thing the bench needs from a registry client: send a request to the registry and get
 * the answer as a stream, with TLS, authentication (Basic, Bearer token challenges) and
 * connection pooling handled below it. The bench times and checks each request itself, so it
 * works at this level rather than with whole-blob helpers.
 */

/** An answer; its body must be read to the end or destroyed to free the connection. */
export interface BenchResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface BenchRequestOptions {
  headers?: Record<string, string>;
  /** A Buffer or a stream; with a stream, set `content-length` to send a length, else chunked. */
  body?: Buffer | Readable;
}

export interface BenchTransport {
  /**
   * Sends `method path` (path and query, starting with `/v2/`). Resolves with any status the
   * registry answered (no status is an error here); rejects only when no answer came
   * (connection refused or reset, TLS failure, timeout). `path` may also be an absolute URL (a
   * blob redirect to storage): on another origin it is sent without the registry's credentials.
   */
  request(method: string, path: string, options?: BenchRequestOptions): Promise<BenchResponse>;
  /** Closes pooled connections. Called once, after the run. */
  close(): Promise<void>;
}

/** The first value of a header, or undefined. */
export function header(response: BenchResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
