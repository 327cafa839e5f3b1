import { parseDigest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { isValidName } from '../protocol/names.js';
import type { Scope } from '../auth/scope.js';
import type { Handler } from './context.js';

/** What one method of a route does, and the access it needs (checked before the handler runs). */
export interface Endpoint {
  readonly handler: Handler;
  readonly access: (params: Readonly<Record<string, string>>) => readonly Scope[];
}

/** One row of the route table: a path pattern and an endpoint per method. */
export interface Route {
  readonly name: string;
  /** Matched against the raw (still percent-encoded) path; named groups become params. */
  readonly pattern: RegExp;
  readonly methods: Readonly<Partial<Record<string, Endpoint>>>;
}

export interface RouteMatch {
  readonly route: Route;
  readonly endpoint: Endpoint;
  readonly params: Record<string, string>;
}

/**
 * Finds the route for a request. A repository name may contain slashes, so each pattern anchors
 * on the trailing `/blobs/...`, `/manifests/...`, `/tags/list` or `/referrers/...` segment and the
 * name is everything before it. Params are percent-decoded, then `name` and `digest` are checked
 * against the spec's grammar here, once for every handler.
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const endpoint = route.methods[method];
    if (!endpoint) {
      throw new RegistryError('UNSUPPORTED', {
        message: `${method} is not supported on this endpoint`,
        headers: { Allow: Object.keys(route.methods).join(', ') },
      });
    }
    return { route, endpoint, params: checkedParams(match.groups ?? {}) };
  }
  throw new RegistryError('UNSUPPORTED', { status: 404, message: `no API endpoint at ${path}` });
}

function checkedParams(groups: Record<string, string | undefined>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, raw] of Object.entries(groups)) {
    if (raw === undefined) continue;
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw; // malformed escapes fail the grammar checks below
    }
    params[key] = value;
  }
  if (params.name !== undefined && !isValidName(params.name)) {
    throw new RegistryError('NAME_INVALID', {
      message: `invalid repository name ${JSON.stringify(params.name)}`,
      detail: { name: params.name },
    });
  }
  if (params.digest !== undefined && !parseDigest(params.digest)) {
    throw new RegistryError('DIGEST_INVALID', {
      message: `invalid digest ${JSON.stringify(params.digest)}: expected sha256:<64 hex> or sha512:<128 hex>`,
      detail: { digest: params.digest },
    });
  }
  return params;
}
