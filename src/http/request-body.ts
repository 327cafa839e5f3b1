import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../protocol/errors.js';
import { isHttp2Request } from './http2-request.js';

/**
 * True when the request carries a body: a length above zero, chunked transfer encoding, or over
 * HTTP/2 (which has neither) a stream whose HEADERS frame did not end it.
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (isHttp2Request(req) && length === undefined) return !req.stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined || Number(length ?? 0) > 0;
}

/**
 * Reads a small body (a manifest) into memory, refusing more than `limit` bytes with 413 before
 * reading past the limit. Only for bodies the registry must parse whole; blobs are streamed.
 */
export async function readSmallBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError('MANIFEST_INVALID', {
      status: 413,
      message: `${what} is larger than the limit of ${limit} bytes`,
      detail: { limit },
    });
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}
