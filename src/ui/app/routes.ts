/**
 * The UI's addresses. Pages live in the hash (`#/`, `#/?q=text`, `#/repo/<name>`,
 * `#/image/<name>@<digest>`) so the server only ever serves one `index.html`, and the registry's
 * base path is derived from where that page was loaded, so a path prefix or a reverse proxy works.
 */
import { isValidName } from '../../protocol/names.js';

export type Route =
  | { page: 'repositories'; q: string }
  | { page: 'repository'; name: string }
  | { page: 'image'; name: string; digest: string }
  | { page: 'not-found'; hash: string };

/**
 * Reads a `location.hash`. Anything unknown is `not-found` (shown as such, not guessed at),
 * including names outside the repository-name grammar: those are never sent to the registry.
 */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path.startsWith('/?')) {
    const q = new URLSearchParams(path.slice(2)).get('q') ?? '';
    return { page: 'repositories', q };
  }
  const repo = /^\/repo\/(.+)$/.exec(path);
  if (repo) {
    const name = safeDecode(repo[1]!);
    if (isValidName(name)) return { page: 'repository', name };
  }
  // The digest grammar of the OCI image spec (`algorithm:encoded`).
  const image = /^\/image\/(.+)@([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/.exec(path);
  if (image) {
    const name = safeDecode(image[1]!);
    if (isValidName(name)) return { page: 'image', name, digest: image[2]! };
  }
  return { page: 'not-found', hash };
}

/** The hash of a route; names keep their `/` (repository names cannot hold anything to escape). */
export function routeHash(route: Route): string {
  switch (route.page) {
    case 'repositories':
      return route.q === '' ? '#/' : `#/?${new URLSearchParams({ q: route.q }).toString()}`;
    case 'repository':
      return `#/repo/${route.name}`;
    case 'image':
      return `#/image/${route.name}@${route.digest}`;
    case 'not-found':
      return route.hash;
  }
}

export const repositoriesHash = (q = ''): string => routeHash({ page: 'repositories', q });
export const repositoryHash = (name: string): string => routeHash({ page: 'repository', name });
export const imageHash = (name: string, digest: string): string => routeHash({ page: 'image', name, digest });

/**
 * The registry's base path from the UI page's path: `/ui/` → `/`, `/registry/ui/index.html` →
 * `/registry/`. Everything the app requests is relative to it.
 */
export function registryBase(pathname: string): string {
  const match = /^(.*\/)ui\/[^/]*$/.exec(pathname);
  return match ? match[1]! : '/';
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A repository name inside a URL path: its `/` stay, nothing else needs escaping. */
export const namePath = (name: string): string => name.split('/').map(encodeURIComponent).join('/');
