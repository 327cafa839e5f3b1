/**
 * Which requests share a Bearer challenge, so one token serves them all: every read of a
 * repository (through `/v2/` or the UI API) asks for the same `repository:<name>:pull` scope, a
 * delete for that repository's delete scope; anything else is keyed by its own path.
 */
export function authKey(method: string, path: string): string {
  const bare = path.split('?')[0]!;
  const name =
    /^berth\/v1\/repositories\/(.+?)\/_[a-z]+(?:\/.*)?$/.exec(bare)?.[1] ?? /^v2\/(.+?)\/(?:manifests|blobs|referrers)\/[^/]+$|^v2\/(.+)\/tags\/list$/.exec(bare)?.slice(1).find(Boolean);
  const action = method === 'GET' || method === 'HEAD' ? 'read' : method;
  return name ? `${action} repository ${name}` : `${action} ${bare}`;
}
