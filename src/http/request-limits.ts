import { RegistryError } from '../protocol/errors.js';

/**
 * `limits.headersize`: the most bytes of a request head (request line and headers), passed to
 * Node as `maxHeaderSize`; Node answers a larger head with 431 and closes the connection. Node's
 * own default is 16 KiB; bearer tokens of some clouds carry many scopes, so four times that.
 */
export const defaultHeaderSize = 64 * 1024;

/**
 * `limits.pathlength`: the most bytes of a request target (path and query). The longest
 * legitimate one is a mount or a push by digest with `?tag=` repeated: a 255-byte name, a
 * sha512 digest and a few dozen tags fit in 8 KiB, the limit most HTTP servers and proxies use.
 */
export const defaultTargetLength = 8 * 1024;

/**
 * Refuses a request target longer than the limit with 414, in the spec's error format. Checked
 * before routing, so nothing of a long target reaches the name grammar or storage paths.
 */
export function checkTargetLength(target: string | undefined, limit: number): void {
  const length = Buffer.byteLength(target ?? '');
  if (length <= limit) return;
  throw new RegistryError('NAME_INVALID', {
    status: 414,
    message: `the request target is ${length} bytes, more than the limit of ${limit} (limits.pathlength)`,
    detail: { length, limit },
  });
}

/**
 * Refuses a request whose body length cannot be known: a `Transfer-Encoding` that does not end in
 * `chunked` (`gzip` alone, say). RFC 9112 §6.1 asks for 400 and a closed connection. Checked before
 * routing because Node's parser fails on such a body only after the request has been handed over,
 * so a bodiless DELETE would otherwise run and then have its connection cut with no answer.
 */
export function checkTransferEncoding(transferEncoding: string | undefined): void {
  if (transferEncoding === undefined) return;
  const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
  if (codings.at(-1) === 'chunked') return;
  throw new RegistryError('UNSUPPORTED', {
    status: 400,
    message: `Transfer-Encoding ${JSON.stringify(transferEncoding)} does not end in chunked, so the body has no known length`,
    headers: { Connection: 'close' },
  });
}
