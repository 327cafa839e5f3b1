import { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { OpenAccess, type AccessController } from '../auth/access-controller.js';
import { RegistryError } from '../protocol/errors.js';
import type { PullThrough } from '../proxy/pull-through.js';
import type { Registry } from '../registry/registry.js';
import type { RequestContext } from './context.js';
import type { RegistryMetrics } from '../ops/metrics.js';
import { SpanStatus, type Span, type Tracer } from '../ops/tracing.js';
import { isHttp2Request } from './http2-request.js';
import { checkTargetLength, checkTransferEncoding, defaultTargetLength } from './request-limits.js';
import { reply, replyError } from './respond.js';
import { matchRoute } from './router.js';
import { adminRoutes } from './admin-routes.js';
import { routes } from './routes.js';
import type { Route } from './router.js';
import { uiApiRoutes } from '../ui/api/routes.js';
import type { UiAssets } from '../ui/static-assets.js';
import type { RequestHandler } from './listener.js';
import { normalizePrefix, urlBuilder, type UrlOptions } from './urls.js';

/** `host`, `prefix` and `relativeUrls` (see UrlOptions) decide the URLs in `Location` and `Link`. */
export interface ServerOptions extends UrlOptions {
  registry: Registry;
  log: Logger;
  /** The gate in front of every route; without one, everyone may do everything. */
  access?: AccessController;
  /**
   * Endpoints outside the `/v2/` API (Berth's token server), each on its exact path as sent
   * (`http.prefix` does not apply), served before the route table and without the access gate:
   * they do their own authentication. Errors they throw are answered like the API's.
   */
  extraRoutes?: readonly ExtraRoute[];
  /** `http.headers`: added to every answer, errors included (Distribution's default sets `X-Content-Type-Options`). */
  headers?: Readonly<Record<string, readonly string[]>>;
  /** Log one line per request (`log.accesslog.disabled` turns it off). */
  accessLog: boolean;
  /** Where request counts, latencies and bytes go (src/ops); nothing is measured without it. */
  metrics?: RequestMetrics;
  /**
   * The `health` checks' verdict. As in Distribution, while it is not healthy every API request
   * (extra routes aside) is answered 503 UNAVAILABLE, so a load balancer moves clients elsewhere.
   */
  health?: { readonly healthy: boolean };
  /**
   * OpenTelemetry: each request becomes a server span (continuing the caller's trace when it sends
   * a W3C `traceparent`), current while the request is handled so storage calls nest under it.
   */
  tracer?: Tracer;
  /** `limits.pathlength`: a longer request target gets 414 before routing (default in request-limits.ts). */
  maxTargetLength?: number;
  /** `proxy`: the pull-through cache; its repositories refuse every write (405 UNSUPPORTED). */
  pullThrough?: PullThrough;
  /**
   * `ui.enabled`: the web UI's files at `<prefix>/ui/` and its read-only JSON API (src/ui/api)
   * under `/berth/v1/`; without it both answer 404.
   */
  ui?: { readonly assets: UiAssets };
}

/** The metrics the HTTP front moves. */
export type RequestMetrics = Pick<RegistryMetrics, 'requests' | 'requestDuration' | 'receivedBytes' | 'sentBytes' | 'uploadsInProgress'>;

/**
 * The API and Berth's own endpoints. `/v2/` and `/berth/` patterns cannot overlap; the UI's
 * come before the administration routes, whose `/berth/v1/repositories/<name>` would read the
 * UI's `/berth/v1/repositories/<name>/_tags` as a repository name.
 */
export const allRoutes: readonly Route[] = [...routes, ...uiApiRoutes, ...adminRoutes];


/** Methods that only read; with `storage.maintenance.readonly.enabled` every other one is refused. */
const readMethods: ReadonlySet<string> = new Set(['GET', 'HEAD']);


/** An endpoint outside the route table (see ServerOptions.extraRoutes). */
export interface ExtraRoute {
  /** The exact path it answers, e.g. `/auth/token`; the query is the handler's. */
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

/** Every answer carries this, as Docker clients check for it. */
const apiVersionHeader = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/**
 * The HTTP front of the registry: parse, route, run the handler, answer errors in one place.
 * Serves HTTP/1 and HTTP/2 (compat API) requests alike.
 */
export function createRequestHandler(options: ServerOptions): RequestHandler {
  const access = options.access ?? new OpenAccess();
  const prefix = normalizePrefix(options.prefix);
  const locate = urlBuilder(options);
  const extraHeaders = Object.entries(options.headers ?? {}).filter(([, values]) => values.length > 0);
  const measure = options.metrics && requestMeter(options.metrics);
  const maxTargetLength = options.maxTargetLength ?? defaultTargetLength;

  const handle = async (req: IncomingMessage, res: ServerResponse, span: Span | undefined): Promise<void> => {
    const started = process.hrtime.bigint();
    // What routing and authentication learn, for the access log line, the metrics and the span.
    const about: RequestFacts = { route: 'unmatched' };
    // The request's logger and abort signal are made on first use: most answers need neither,
    // and making them was a visible share of a small request's CPU.
    let requestLog: Logger | undefined;
    const log = (): Logger =>
      (requestLog ??= options.log.child({ req_id: randomUUID(), method: req.method, path: loggablePath(req.url) }));
    res.setHeader(...apiVersionHeader);
    for (const [name, values] of extraHeaders) {
      // HTTP/2 forbids connection-specific headers; they would make the answer fail.
      if (isHttp2Request(req) && http2Forbidden.has(name.toLowerCase())) continue;
      res.setHeader(name, values.length === 1 ? values[0]! : [...values]);
    }
    let abort: AbortController | undefined;
    const signal = (): AbortSignal => {
      if (!abort) {
        const controller = (abort = new AbortController());
        if (res.closed && !res.writableFinished) controller.abort();
        else res.on('close', () => !res.writableFinished && controller.abort());
      }
      return abort.signal;
    };
    // Body bytes, counted once for both the access log and the metrics.
    const bytes = options.accessLog || measure ? countBodyBytes(req, res) : undefined;
    if (options.accessLog) {
      res.on('close', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log().info(
          {
            status: res.statusCode,
            route: about.route,
            repository: about.repository,
            user: about.user,
            bytes_in: bytes!.received,
            bytes_out: bytes!.sent,
            ms: Math.round(ms * 10) / 10,
            complete: res.writableFinished,
            remote_addr: req.socket?.remoteAddress,
            trace_id: span?.context.traceId,
          },
          'request',
        );
      });
    }
    if (span) {
      res.once('close', () => {
        span.set({
          'http.request.method': req.method ?? 'GET',
          'http.route': about.route,
          'http.response.status_code': res.statusCode,
          'url.path': loggablePath(req.url),
          'berth.repository': about.repository,
          'enduser.id': about.user,
        });
        // As OpenTelemetry's HTTP conventions say for server spans: 5xx is an error, 4xx the client's.
        if (res.statusCode >= 500 || !res.writableFinished) span.status = SpanStatus.error;
        span.end(`${req.method ?? 'GET'} ${about.route}`);
      });
    }
    const measured = measure?.(req, res, started, about, bytes!);
    try {
      const extra = findExtraRoute(options.extraRoutes, req.url);
      if (extra) {
        about.route = extra.route.path;
        await extra.route.handle(req, res, extra.url);
        return;
      }
      checkTargetLength(req.url, maxTargetLength);
      checkTransferEncoding(req.headers['transfer-encoding']);
      const { path, url } = parseTarget(req.url, prefix);
      // The UI's files are not the API: served whatever the health checks say, without auth (the
      // app asks for credentials itself, through the API).
      if (options.ui?.assets.serve(req, res, path)) {
        about.route = 'ui';
        return;
      }
      if (options.health && !options.health.healthy) {
        throw new RegistryError('UNAVAILABLE', { detail: 'health check failed: please see /debug/health' });
      }
      if (path === '/') {
        about.route = 'root';
        answerRoot(req, res, options.ui !== undefined);
        return;
      }
      const method = req.method ?? 'GET';
      // With the UI off its API is not there, whatever the method or name: checked before the
      // route table, where the administration route would read its paths as repository names.
      if (!options.ui && uiApiRoutes.some((route) => route.pattern.test(path))) {
        throw new RegistryError('UNSUPPORTED', { status: 404, message: `no API endpoint at ${path}` });
      }
      const match = matchRoute(allRoutes, method, path);
      about.route = match.route.name;
      about.repository = match.params.name;
      if (measured && uploadRoutes.has(match.route.name) && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') measured.upload();
      // One check for every write route, before authentication: no credentials can make it pass.
      if (options.registry.options.readOnly && !readMethods.has(method)) {
        throw new RegistryError('UNSUPPORTED', {
          message: `the registry is read-only (storage.maintenance.readonly.enabled): ${method} is refused`,
        });
      }
      // A proxied repository holds only what its upstream has: writes are refused, as in Distribution.
      const upstream = match.params.name === undefined || readMethods.has(method) ? undefined : options.pullThrough?.upstreamOf(match.params.name);
      if (upstream) {
        throw new RegistryError('UNSUPPORTED', {
          message: `${match.params.name} is a pull-through cache of ${upstream.remoteUrl}: ${method} is refused (push to the upstream instead)`,
        });
      }
      const grant = await access.authorize(req, match.endpoint.access(match.params));
      about.user = grant.identity.user;
      let handlerLog: Logger | undefined;
      const ctx: RequestContext = {
        req,
        res,
        url,
        params: match.params,
        registry: options.registry,
        pullThrough: options.pullThrough,
        grant,
        get log() {
          return (handlerLog ??= grant.identity.user ? log().child({ user: grant.identity.user }) : log());
        },
        get signal() {
          return signal();
        },
        location: locate(req),
      };
      await match.endpoint.handler(ctx);
    } catch (error) {
      replyError(res, error, log());
    }
  };

  const tracer = options.tracer;
  return (req, res) => {
    if (!tracer) {
      void handle(req, res, undefined);
      return;
    }
    const traceparent = req.headers.traceparent;
    // Named again when it ends, once the route is known.
    const span = tracer.startRequestSpan(`${req.method ?? 'GET'}`, typeof traceparent === 'string' ? traceparent : undefined);
    void tracer.run(span, () => handle(req, res, span));
  };
}

/**
 * `/` (under the prefix): a browser's GET (it asks for HTML) is sent to the web UI when it is on;
 * anything else gets Distribution's empty 200 whatever the method, which load balancers probe
 * (after the health checks, as there: an unhealthy registry answers 503).
 */
function answerRoot(req: IncomingMessage, res: ServerResponse, uiEnabled: boolean): void {
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (uiEnabled && get && /\btext\/html\b/.test(req.headers.accept ?? '')) {
    reply(res, 302, { Location: 'ui/', 'Cache-Control': 'no-cache' });
  } else {
    reply(res, 200, { 'Cache-Control': 'no-cache' });
  }
}

/** Query parameters whose values are credentials or signatures: never written to a log or span. */
const secretParameter = /token|password|passwd|secret|signature|credential|^sig$|^code$|key/i;

/**
 * The request target as logged: user information in an absolute-form target dropped, and the
 * values of query parameters that carry secrets (`?access_token=`, presigned signatures)
 * replaced by `REDACTED`. The rest stays as sent, so the line still shows what was asked.
 */
export function loggablePath(raw: string | undefined): string {
  let target = (raw ?? '/').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  const question = target.indexOf('?');
  if (question < 0) return target;
  const query = target
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a malformed name is matched as sent
      }
      return secretParameter.test(decoded) ? `${name}=REDACTED` : pair;
    });
  target = `${target.slice(0, question)}?${query.join('&')}`;
  return target;
}

/** Body bytes of a request and its answer so far. */
interface BodyBytes {
  readonly received: number;
  readonly sent: number;
}

/**
 * Counts the body bytes of a request and its answer as they pass, without touching the streams'
 * flow: a 'data' listener would start the request flowing before its handler reads it. The
 * request's `push` (where the HTTP/1 parser and HTTP/2 compat layer hand over body chunks) and
 * the answer's `write`/`end` are wrapped on these two objects only.
 */
function countBodyBytes(req: IncomingMessage, res: ServerResponse): BodyBytes {
  const counts = { received: 0, sent: 0 };
  const push = req.push;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    counts.received += chunkLength(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  type Write = (chunk: unknown, ...rest: unknown[]) => unknown;
  const write = res.write as Write;
  const end = res.end as Write;
  // HTTP/2's end() writes its chunk through write(): counted once, in end.
  let ending = false;
  (res as { write: Write }).write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (!ending) counts.sent += chunkLength(chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  };
  (res as { end: Write }).end = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (!ending) counts.sent += chunkLength(chunk, rest[0]);
    ending = true;
    try {
      return end.call(this, chunk, ...rest);
    } finally {
      ending = false;
    }
  };
  return counts;
}

function chunkLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

const uploadRoutes: ReadonlySet<string> = new Set(['upload-start', 'upload']);

/** Methods counted by name; any other is `other`, so a client cannot make up label values. */
const knownMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What routing and authentication learn about a request, read when it ends. */
interface RequestFacts {
  /** The route's name (or an extra route's path); `unmatched` until routing finds one. */
  route: string;
  repository?: string;
  user?: string;
}

/** What the handler tells the meter once it knows. */
interface MeasuredRequest {
  /** Counts the request as an upload in progress until it ends. */
  upload(): void;
}

/**
 * Records each request when its answer ends (or the client goes): count and latency by route,
 * method and status, and its body bytes in and out.
 */
function requestMeter(
  metrics: RequestMetrics,
): (req: IncomingMessage, res: ServerResponse, started: bigint, about: RequestFacts, bytes: BodyBytes) => MeasuredRequest {
  return (req, res, started, about, bytes) => {
    let uploading = false;
    res.once('close', () => {
      const method = knownMethods.has(req.method ?? '') ? req.method! : 'other';
      metrics.requests.inc({ route: about.route, method, status: String(res.statusCode) });
      metrics.requestDuration.observe({ route: about.route, method }, Number(process.hrtime.bigint() - started) / 1e9);
      if (uploading) metrics.uploadsInProgress.dec();
      if (bytes.received > 0) metrics.receivedBytes.inc(bytes.received);
      if (bytes.sent > 0) metrics.sentBytes.inc(bytes.sent);
    });
    return {
      upload() {
        if (uploading || res.closed) return;
        uploading = true;
        metrics.uploadsInProgress.inc();
      },
    };
  };
}

const http2Forbidden = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * Splits the request target into its raw path and a URL for the query. The path is used as sent,
 * without dot-segment normalisation, so `..` reaches the name grammar and is refused there
 * rather than silently resolved.
 */
function parseTarget(raw: string | undefined, prefix: string): { path: string; url: URL } {
  // Absolute-form targets (`GET http://host/v2/ HTTP/1.1`, RFC 9112 §3.2.2) drop scheme and authority.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(raw ?? '');
  const target = absolute ? raw!.slice(absolute[0].length) || '/' : (raw ?? '/');
  const question = target.indexOf('?');
  let path = question < 0 ? target : target.slice(0, question);
  if (prefix) {
    // Under `http.prefix` the API lives at `<prefix>/v2/`; anything else is outside it.
    if (!path.startsWith(`${prefix}/`)) {
      throw new RegistryError('UNSUPPORTED', { status: 404, message: `no API endpoint at ${path}` });
    }
    path = path.slice(prefix.length);
  }
  const url = new URL(question < 0 ? '' : target.slice(question), 'http://registry.invalid/');
  return { path, url };
}

/** The extra route whose path the request target names exactly (absolute-form targets included). */
function findExtraRoute(extraRoutes: readonly ExtraRoute[] | undefined, raw: string | undefined): { route: ExtraRoute; url: URL } | undefined {
  if (!extraRoutes?.length) return undefined;
  const target = (raw ?? '/').replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '') || '/';
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const route = extraRoutes.find((r) => r.path === path);
  return route && { route, url: new URL(question < 0 ? '' : target.slice(question), 'http://registry.invalid/') };
}
