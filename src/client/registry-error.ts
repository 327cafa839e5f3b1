/**
 * The errors the registry client throws. Each carries a `hint`: the one thing the user can do
 * about it, so the CLI can print the registry's own words and the next step without matching on
 * messages.
 */

/** The fields of one entry of a registry's `{"errors":[{code,message,detail}]}` body. */
export interface RegistryErrorBody {
  code?: string;
  message?: string;
  detail?: unknown;
}

/** Codes assumed when an answer has no error body (HEAD, or a proxy's bare status). */
const codeByStatus: Readonly<Record<number, string>> = {
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NOT_FOUND',
  405: 'UNSUPPORTED',
  429: 'TOOMANYREQUESTS',
};

/** An answer from the registry (or its token server) with a status the operation did not expect. */
export class RegistryError extends Error {
  /** The registry as the user named it (`host[:port]`). */
  readonly registry: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** The registry's error code (`MANIFEST_UNKNOWN`...), else one derived from the status, else undefined. */
  readonly code: string | undefined;
  /** The registry's own message for the first error of its body, when it sent one. */
  readonly registryMessage: string | undefined;
  /** The `detail` of the first error, as sent. */
  readonly detail: unknown;
  /** What the user can do about it (one sentence), or undefined when nothing useful is known. */
  readonly hint: string | undefined;
  /** The answer's Retry-After header (a 429 or 503), as sent. */
  readonly retryAfter: string | undefined;

  constructor(registry: string, status: number, body: RegistryErrorBody = {}, options: { cause?: unknown; retryAfter?: string } = {}) {
    const code = body.code ?? codeByStatus[status];
    const message = body.message ?? (code === undefined ? 'unexpected answer' : code.toLowerCase().replaceAll('_', ' '));
    super(`${registry}: ${code === undefined ? '' : `${code}: `}${message} (HTTP ${status})`, { cause: options.cause });
    this.name = 'RegistryError';
    this.registry = registry;
    this.status = status;
    this.code = code;
    this.registryMessage = body.message;
    this.detail = body.detail;
    this.hint = hintFor(registry, status, code);
    this.retryAfter = options.retryAfter;
  }
}

function hintFor(registry: string, status: number, code: string | undefined): string | undefined {
  if (status === 401) return `run: berth login ${registry}`;
  if (status === 403) return 'the credentials in use lack the right for this repository (ask its owner, or log in as another user)';
  if (code === 'NAME_UNKNOWN') return 'check the repository name';
  if (code === 'MANIFEST_UNKNOWN') return 'check the repository name and the tag or digest';
  if (code === 'BLOB_UNKNOWN') return 'the registry lacks this blob: push the image again';
  if (code === 'UNSUPPORTED' || status === 405) return 'the registry does not allow this operation (deletes may be disabled)';
  if (status === 429) return 'the registry limits request rates: try again later';
  if (status >= 500) return 'the registry failed: try again, or look at its logs';
  return undefined;
}

/** The registry could not be reached: connection refused, DNS, TLS handshake, reset. */
export class ConnectionFailedError extends Error {
  readonly registry: string;
  /** The URL the request went to (may be a token realm or a redirect target, not the registry). */
  readonly url: string;
  /** The system or library error code (`ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`...). */
  readonly code: string | undefined;
  readonly hint: string;

  constructor(registry: string, url: string, cause: unknown) {
    const code = errorCode(cause);
    let reason = cause instanceof Error ? cause.message : String(cause);
    // OpenSSL's messages carry its internal location ("80EC...:error:0A00010B:SSL routines:..."):
    // the code says the same in fewer words.
    if (/^[0-9A-F]+:error:/.test(reason) && code !== undefined) reason = `TLS handshake failed (${code})`;
    super(`${registry}: cannot reach ${url}: ${reason}`, { cause });
    this.name = 'ConnectionFailedError';
    this.registry = registry;
    this.url = url;
    this.code = code;
    this.hint = connectionHint(registry, url, code);
  }

  /** True when the TLS handshake failed (certificate not trusted, or plain HTTP on the other end). */
  get tls(): boolean {
    return isTlsCode(this.code);
  }
}

function errorCode(error: unknown): string | undefined {
  // undici wraps socket errors; the system or OpenSSL code sits on the cause.
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR')) return code;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isTlsCode(code: string | undefined): boolean {
  return code !== undefined && /CERT|SSL|TLS|EPROTO|SIGNATURE|ISSUER|HOSTNAME|ERR_TLS/i.test(code);
}

function connectionHint(registry: string, url: string, code: string | undefined): string {
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
    return `${registry} may serve plain HTTP: pass --insecure`;
  }
  if (isTlsCode(code)) return `the certificate of ${registry} is not trusted: pass --ca-file CA.pem (or --insecure if it serves plain HTTP)`;
  if (code === 'ECONNREFUSED') return `nothing listens at ${new URL(url).host}: is the registry running, and is the port right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name of ${registry} does not resolve`;
  if (url.startsWith('http:')) return `check the address; if ${registry} serves HTTPS, drop --insecure`;
  return `check the address, and pass --insecure if ${registry} serves plain HTTP`;
}

/** Content from the registry does not match the digest it was asked for or announced. */
export class DigestMismatchError extends Error {
  readonly registry: string;
  readonly expected: string;
  readonly actual: string;

  constructor(registry: string, what: string, expected: string, actual: string) {
    super(`${registry}: ${what} has digest ${actual}, expected ${expected}`);
    this.name = 'DigestMismatchError';
    this.registry = registry;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob source handed to an upload gave more or fewer bytes than the descriptor's size. */
export class SourceSizeError extends Error {
  readonly expected: number;
  readonly actual: number;

  constructor(digest: string, expected: number, actual: number) {
    super(`the content of ${digest} is ${actual > expected ? 'longer' : 'shorter'} than its size ${expected} (${actual > expected ? 'over' : 'got'} ${actual} bytes)`);
    this.name = 'SourceSizeError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** An answer that should be small (a manifest, a listing, an error) is larger than the client accepts. */
export class ResponseTooLargeError extends Error {
  readonly registry: string;
  readonly limit: number;

  constructor(registry: string, what: string, limit: number) {
    super(`${registry}: ${what} is larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
    this.registry = registry;
    this.limit = limit;
  }
}

/** The registry deletes manifests but not tags alone (Distribution 2.x). */
export class TagDeleteUnsupportedError extends Error {
  readonly hint: string;

  constructor(registry: string, repository: string, tag: string, digest: string | undefined, cause: RegistryError) {
    super(`${registry}: this registry cannot delete the tag ${repository}:${tag} alone (${cause.message})`, { cause });
    this.name = 'TagDeleteUnsupportedError';
    this.hint = digest
      ? `delete the manifest instead, which also removes every other tag pointing at it: berth delete ${registry}/${repository}@${digest}`
      : 'delete the manifest by digest instead (REPOSITORY@DIGEST)';
  }
}
