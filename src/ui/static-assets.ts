import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { reply } from '../http/respond.js';

/**
 * Where `npm run build` (scripts/build-ui.mjs) writes the browser app. src/ui and dist/ui sit at
 * the same depth, so the path is the same whether this module runs compiled or under tsx.
 */
export const defaultAssetDirectory = resolve(import.meta.dirname, '../../dist/ui-assets');

/** The path the UI lives at, under `http.prefix`. */
export const uiPath = '/ui';

/**
 * What every UI file is served with. The policy allows nothing but this origin: the app's own
 * script, styles and API calls. No inline script, no external font or image, no framing.
 */
const securityHeaders = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
};

/** Types worth compressing; images are compressed already. */
const compressible = new Set(['.html', '.js', '.css', '.svg', '.json', '.webmanifest', '.map']);

/** One encoding of a file, with its own strong ETag (RFC 9110 §8.8.3: each encoding is a representation). */
interface Representation {
  readonly bytes: Buffer;
  readonly etag: string;
}

interface Asset {
  readonly type: string;
  readonly identity: Representation;
  /** The same bytes gzipped, when that is smaller. */
  readonly gzipped?: Representation;
}

/**
 * The built UI, held in memory: a few hundred KiB read once at startup. Requests name a file of
 * that one flat directory and are looked up in a map, so no request path ever reaches the file
 * system (nothing outside the directory can be named, whatever the path says).
 */
export class UiAssets {
  private constructor(
    private readonly files: ReadonlyMap<string, Asset>,
    /** Why the UI cannot be served (the bundle was not built), when it cannot. */
    readonly missing?: string,
  ) {}

  /** Reads every file of the directory. A missing or incomplete build is not an error here: see `missing`. */
  static async load(directory = defaultAssetDirectory): Promise<UiAssets> {
    let names: string[];
    try {
      names = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      names = [];
    }
    const files = new Map<string, Asset>();
    for (const name of names) {
      const extension = extname(name);
      const bytes = await readFile(join(directory, name));
      const gzipped = compressible.has(extension) ? gzipSync(bytes, { level: 9 }) : undefined;
      const tag = createHash('sha256').update(bytes).digest('base64url').slice(0, 27);
      files.set(name, {
        type: contentTypes[extension] ?? 'application/octet-stream',
        identity: { bytes, etag: `"${tag}"` },
        gzipped: gzipped && gzipped.length < bytes.length ? { bytes: gzipped, etag: `"${tag}-gzip"` } : undefined,
      });
    }
    const missing = files.has('index.html') ? undefined : `the web UI is not built (no ${join(directory, 'index.html')}): run npm run build`;
    return new UiAssets(files, missing);
  }

  /**
   * Answers `path` (the request path with `http.prefix` removed) when it is the UI's: `/ui`
   * redirects to `/ui/`, `/ui/` is the app's page, `/ui/<file>` one of its files. Returns false
   * for any other path, which is then the API's.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path !== uiPath && !path.startsWith(`${uiPath}/`)) return false;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      reply(res, 405, { ...securityHeaders, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, `${method} is not supported here\n`);
      return true;
    }
    if (path === uiPath) {
      // Relative, so that it holds behind a reverse proxy that adds a path of its own.
      reply(res, 301, { ...securityHeaders, Location: 'ui/' });
      return true;
    }
    if (this.missing) {
      reply(res, 503, { ...securityHeaders, 'Content-Type': 'text/plain; charset=utf-8' }, `${this.missing}\n`);
      return true;
    }
    const name = path === `${uiPath}/` ? 'index.html' : path.slice(uiPath.length + 1);
    const asset = this.files.get(name);
    if (!asset) {
      reply(res, 404, { ...securityHeaders, 'Content-Type': 'text/plain; charset=utf-8' }, 'not found\n');
      return true;
    }
    const gzip = asset.gzipped && acceptsGzip(req.headers['accept-encoding']) ? asset.gzipped : undefined;
    const chosen = gzip ?? asset.identity;
    const headers = {
      ...securityHeaders,
      'Content-Type': asset.type,
      ETag: chosen.etag,
      'Cache-Control': 'no-cache',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    };
    if (etagMatches(req.headers['if-none-match'], chosen.etag)) reply(res, 304, headers);
    else reply(res, 200, headers, chosen.bytes);
    return true;
  }
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((value) => {
    const tag = value.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** `gzip` listed without `q=0` (RFC 9110 §12.5.3). */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip' && coding?.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
