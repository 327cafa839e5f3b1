import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** How the registry names itself in `Location` and `Link` headers (the `http` keys of the config). */
export interface UrlOptions {
  /**
   * `http.host`: the registry's public base URL. When set, every URL is absolute on it, whatever
   * the request or `relativeUrls` say (as Distribution). A path in it (`https://x.example/reg`)
   * replaces `prefix` in URLs: it is where the API lives as seen from outside.
   */
  host?: string;
  /** `http.prefix`: the path the whole API is served under (`/registry`, so `/registry/v2/...`). */
  prefix?: string;
  /**
   * `http.relativeurls`: URLs are paths only (`/v2/...`, with the prefix). When false (the
   * default, as in Distribution), they are absolute on the origin the client used, see
   * requestOrigin.
   */
  relativeUrls?: boolean;
}

/** The part of a request requestOrigin reads; node:http and node:http2 compat requests both fit. */
export type OriginSource = Pick<IncomingMessage, 'headers' | 'socket'>;

export interface OriginOptions {
  /**
   * Honour `Forwarded`, `X-Forwarded-Proto` and `X-Forwarded-Host` (default true). Distribution
   * always trusts them; a client that forges them only changes the URLs in its own answers, as
   * it could with `Host`.
   */
  trustForwarded?: boolean;
}

/**
 * The origin (`https://registry.example.com:5000`) the client used to reach the registry, for
 * absolute URLs that client can follow: scheme and host from a reverse proxy's `Forwarded` header
 * (RFC 7239, first element) or else its `X-Forwarded-Proto` / `X-Forwarded-Host` (first value of
 * each), falling back to the connection (TLS or not) and the `Host` header (`:authority` over
 * HTTP/2). Values that are not a plain scheme or host[:port] are ignored rather than echoed.
 * Without any host (an HTTP/1.0 request without `Host`), the answer is undefined.
 */
export function requestOrigin(req: OriginSource, options: OriginOptions = {}): string | undefined {
  let scheme = isEncrypted(req) ? 'https' : 'http';
  let host = validHost(header(req, ':authority')) ?? validHost(header(req, 'host'));
  if (options.trustForwarded ?? true) {
    const forwarded = header(req, 'forwarded');
    if (forwarded !== undefined) {
      const first = parseForwarded(forwarded);
      scheme = validScheme(first.proto) ?? scheme;
      host = validHost(first.host) ?? host;
    } else {
      scheme = validScheme(firstOfList(header(req, 'x-forwarded-proto'))) ?? scheme;
      host = validHost(firstOfList(header(req, 'x-forwarded-host'))) ?? host;
    }
  }
  return host === undefined ? undefined : `${scheme}://${host}`;
}

/** `/registry/` or `registry` becomes `/registry`; an empty or `/` prefix becomes ''. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}` : '';
}

/**
 * Builds the function that turns an API path (`/v2/...`) into the URL sent in `Location` and
 * `Link` for one request.
 */
export function urlBuilder(options: UrlOptions): (req: OriginSource) => (path: string) => string {
  const prefix = normalizePrefix(options.prefix);
  if (options.host) {
    const host = new URL(options.host);
    const path = host.pathname.replace(/\/+$/, '');
    const base = `${host.origin}${path || prefix}`;
    return () => (apiPath) => `${base}${apiPath}`;
  }
  if (options.relativeUrls) return () => (apiPath) => `${prefix}${apiPath}`;
  return (req) => {
    // Without a host to name there is nothing to be absolute on; a path is still followable.
    const origin = requestOrigin(req) ?? '';
    return (apiPath) => `${origin}${prefix}${apiPath}`;
  };
}

function header(req: OriginSource, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isEncrypted(req: OriginSource): boolean {
  // Over HTTP/2 the compat request's socket is a proxy to the session's socket; it answers too.
  return (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
}

function firstOfList(value: string | undefined): string | undefined {
  return value?.split(',')[0]?.trim();
}

function validScheme(value: string | undefined): string | undefined {
  const scheme = value?.toLowerCase();
  return scheme === 'http' || scheme === 'https' ? scheme : undefined;
}

/** A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const hostPattern = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function validHost(value: string | undefined): string | undefined {
  return value !== undefined && hostPattern.test(value) ? value : undefined;
}

/** The parameters of the first element of a `Forwarded` header (the one the first proxy added). */
function parseForwarded(value: string): { proto?: string; host?: string } {
  const result: { proto?: string; host?: string } = {};
  // Split on `,` and `;` outside quoted strings.
  const tokens = value.match(/(?:[^,;"]+|"(?:[^"\\]|\\.)*")+|[,;]/g) ?? [];
  for (const token of tokens) {
    if (token === ',') break;
    if (token === ';') continue;
    const equals = token.indexOf('=');
    if (equals < 0) continue;
    const key = token.slice(0, equals).trim().toLowerCase();
    let item = token.slice(equals + 1).trim();
    if (item.startsWith('"') && item.endsWith('"') && item.length >= 2) item = item.slice(1, -1).replace(/\\(.)/g, '$1');
    if (key === 'proto' || key === 'host') result[key] = item;
  }
  return result;
}
