import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { OpenAccess, type AccessController } from '../auth/access-controller.js';
import type { Registry } from '../registry/registry.js';
import type { RequestContext } from './context.js';
import { replyError } from './respond.js';
import { matchRoute } from './router.js';
import { routes } from './routes.js';

export interface ServerOptions {
  registry: Registry;
  log: Logger;
  /** The gate in front of every route; without one, everyone may do everything. */
  access?: AccessController;
  /** `http.host`: when set, `Location` and `Link` URLs are absolute on this base. */
  host?: string;
  /** Log one line per request (`log.accesslog.disabled` turns it off). */
  accessLog: boolean;
}

/** Every answer carries this, as Docker clients check for it. */
const apiVersionHeader = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/** The HTTP front of the registry: parse, route, run the handler, answer errors in one place. */
export function createRegistryServer(options: ServerOptions): Server {
  const base = options.host?.replace(/\/+$/, '');
  const access = options.access ?? new OpenAccess();
  const location = base ? (path: string) => `${base}${path}` : (path: string) => path;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const log = options.log.child({ req_id: randomUUID(), method: req.method, path: req.url });
    res.setHeader(...apiVersionHeader);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    if (options.accessLog) {
      res.on('close', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log.info(
          { status: res.statusCode, bytes_out: res.getHeader('content-length'), ms: Math.round(ms * 10) / 10, complete: res.writableFinished },
          'request',
        );
      });
    }
    try {
      const { path, url } = parseTarget(req.url);
      const match = matchRoute(routes, req.method ?? 'GET', path);
      const grant = await access.authorize(req, match.endpoint.access(match.params));
      const ctx: RequestContext = {
        req,
        res,
        url,
        params: match.params,
        registry: options.registry,
        grant,
        log: grant.identity.user ? log.child({ user: grant.identity.user }) : log,
        signal: abort.signal,
        location,
      };
      await match.endpoint.handler(ctx);
    } catch (error) {
      replyError(res, error, log);
    }
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    void handle(req, res);
  });
  return server;
}

/**
 * Splits the request target into its raw path and a URL for the query. The path is used as sent,
 * without dot-segment normalisation, so `..` reaches the name grammar and is refused there
 * rather than silently resolved.
 */
function parseTarget(raw: string | undefined): { path: string; url: URL } {
  // Absolute-form targets (`GET http://host/v2/ HTTP/1.1`, RFC 9112 §3.2.2) drop scheme and authority.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(raw ?? '');
  const target = absolute ? raw!.slice(absolute[0].length) || '/' : (raw ?? '/');
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const url = new URL(question < 0 ? '' : target.slice(question), 'http://registry.invalid/');
  return { path, url };
}
