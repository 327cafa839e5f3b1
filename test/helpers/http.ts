import assert from 'node:assert/strict';
import { request, type OutgoingHttpHeaders } from 'node:http';

/** Requests that `fetch` cannot express are cut off after this long, so a hung server fails the test. */
const rawRequestTimeoutMs = 15_000;

/**
 * Bytes as a fetch body. Node's fetch takes any Buffer; only its typings insist on a view of a
 * plain ArrayBuffer, which a Buffer is at run time.
 */
export function fetchBody(content: string | Buffer): string | Uint8Array<ArrayBuffer> {
  return typeof content === 'string' ? content : (content as Uint8Array<ArrayBuffer>);
}

export interface RawRequest {
  method?: string;
  /** Sent exactly as given: no dot-segment removal, no re-encoding (unlike `fetch` and `URL`). */
  path: string;
  headers?: OutgoingHttpHeaders;
  /**
   * One buffer goes out with a Content-Length. A list of pieces goes out with
   * `Transfer-Encoding: chunked` and no length, one write per piece.
   */
  body?: string | Buffer | readonly (string | Buffer)[];
}

/**
 * Sends one HTTP/1.1 request over node:http to the server at `base` (`http://127.0.0.1:<port>`)
 * and returns the answer as a fetch `Response`, so raw and fetch answers are checked the same way.
 */
export async function rawRequest(base: string, options: RawRequest): Promise<Response> {
  const { hostname, port } = new URL(base);
  const { body } = options;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  if (typeof body === 'string' || Buffer.isBuffer(body)) headers['Content-Length'] = Buffer.byteLength(body);
  const method = options.method ?? 'GET';
  return await new Promise<Response>((resolve, reject) => {
    const req = request(
      { host: hostname, port: Number(port), method, path: options.path, headers, agent: false, timeout: rawRequestTimeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const item of Array.isArray(value) ? value : [value ?? '']) answer.append(name, item);
          }
          const noBody = status === 204 || status === 304 || method === 'HEAD';
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: answer }));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${options.path} within ${rawRequestTimeoutMs} ms`)));
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const piece of body) req.write(piece);
      req.end();
    } else {
      req.end(body as string | Buffer | undefined);
    }
  });
}

export interface ErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/**
 * Asserts a registry error answer: the status, the API version header every answer carries, and
 * (except for HEAD, which has no body) the spec's `{"errors":[{"code","message","detail"}]}` body
 * with exactly one error of the given code. Returns that error for further checks.
 */
export async function expectError(
  response: Response,
  status: number,
  code: string,
  options: { head?: boolean; message?: RegExp } = {},
): Promise<ErrorEntry | undefined> {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}`);
  assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
  const text = await response.text();
  if (options.head) {
    assert.equal(text, '');
    return undefined;
  }
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(text));
  const body = JSON.parse(text) as { errors?: ErrorEntry[] };
  assert.deepEqual(Object.keys(body), ['errors']);
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, `one error expected in ${text}`);
  const [entry] = body.errors;
  assert.equal(entry!.code, code, `expected code ${code} in ${text}`);
  assert.equal(typeof entry!.message, 'string');
  assert.ok(entry!.message.length > 0, 'the message says what went wrong');
  for (const key of Object.keys(entry!)) assert.ok(['code', 'message', 'detail'].includes(key), `unexpected key ${key}`);
  if (options.message) assert.match(entry!.message, options.message);
  return entry;
}
