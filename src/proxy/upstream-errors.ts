import { ConnectionFailedError, DigestMismatchError, RegistryError as UpstreamAnswer } from '../client/registry-error.js';
import { RegistryError } from '../protocol/errors.js';
import type { Upstream } from './upstreams.js';

/** True when the upstream said it has no such manifest, blob or repository. */
export function isUpstreamNotFound(error: unknown): boolean {
  return error instanceof UpstreamAnswer && error.status === 404;
}

/**
 * What a client of the cache is told when content it asked for is not cached and the upstream
 * could not provide it. The message names the upstream and what it did, so that a user can
 * tell a rate limit or an outage upstream from a problem of the cache. Errors that are not the
 * upstream's come back unchanged.
 */
export function upstreamFailure(error: unknown, upstream: Upstream): unknown {
  const where = `upstream ${upstream.remoteUrl}`;
  if (error instanceof ConnectionFailedError) {
    // The spec has no code for a gateway failure: UNKNOWN with 503, as the content may come later.
    return new RegistryError('UNKNOWN', { status: 503, message: `${where} unreachable: ${reasonOf(error)}`, cause: error });
  }
  if (error instanceof DigestMismatchError) {
    return new RegistryError('UNKNOWN', { status: 502, message: `${where} sent content that does not match its digest (${error.expected})`, cause: error });
  }
  if (!(error instanceof UpstreamAnswer)) return error;
  const said = `${error.code ?? 'HTTP'} (HTTP ${error.status})${error.registryMessage ? `: ${error.registryMessage}` : ''}`;
  if (error.status === 429) {
    return new RegistryError('TOOMANYREQUESTS', {
      message: `${where} limits request rates and refused: ${said}`,
      headers: error.retryAfter === undefined ? {} : { 'Retry-After': error.retryAfter },
      cause: error,
    });
  }
  if (error.status === 401 || error.status === 403) {
    return new RegistryError('UNKNOWN', { status: 502, message: `${where} refused the cache's credentials: ${said}`, cause: error });
  }
  return new RegistryError('UNKNOWN', { status: 502, message: `${where} failed: ${said}`, cause: error });
}

/** The system's word for a connection failure (`ECONNREFUSED`), else the underlying message. */
function reasonOf(error: ConnectionFailedError): string {
  if (error.code !== undefined && !error.code.startsWith('UND_ERR')) return error.code;
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause ?? error.code ?? 'connection failed';
}
