import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { RegistryError } from '../protocol/errors.js';

/**
 * Sends a complete answer with an exact Content-Length (also right for HEAD: no body is written).
 * 204 and 304 answers get none: RFC 9110 forbids it on a 204, and on a 304 it would have to be the
 * size of the full answer, not 0.
 */
export function reply(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders = {},
  body?: string | Buffer,
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const length = status === 204 || status === 304 ? {} : { 'Content-Length': bytes?.length ?? 0 };
  res.writeHead(status, { ...length, ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

export function replyJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  reply(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/**
 * The one place where failures become answers: a RegistryError gives its status, headers and
 * the spec's error body; anything else is a 500 with code UNKNOWN, logged with its stack. If the
 * answer had already started, the connection is cut so the client cannot take a partial body
 * for a whole one.
 */
export function replyError(res: ServerResponse, error: unknown, log: Logger): void {
  const known = error instanceof RegistryError;
  const registryError = known ? error : isStorageFull(error) ? storageFull(error) : new RegistryError('UNKNOWN', { cause: error });
  if (known) {
    log.debug({ code: registryError.code, err: error }, 'request refused');
  } else {
    log.error({ err: error }, 'request failed');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  replyJson(res, registryError.status, registryError.toBody(), registryError.headers);
}

/**
 * A full disk: 507 Insufficient Storage (RFC 4918), which tells the client that retrying will not
 * help until space is freed, with the code UNKNOWN, since the spec's codes (which clients may
 * match on) name no such case; the message says what happened.
 */
function storageFull(cause: unknown): RegistryError {
  return new RegistryError('UNKNOWN', { status: 507, message: 'storage is full: the registry cannot store more data until space is freed', cause });
}

/**
 * True when storage refused a write for lack of space: ENOSPC (or EDQUOT, a quota) from any file
 * system call (write, rename, mkdir, open, the close that flushes), also when wrapped as the
 * cause of another error.
 */
function isStorageFull(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}
