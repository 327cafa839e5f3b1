/**
 * Where the browser asks for tokens. The page may only connect to its own origin (the UI's
 * Content-Security-Policy says `connect-src 'self'`), and the realm a registry announces often
 * names another host for the same server (its public name, or no port behind a proxy). Berth's
 * own token server answers at the realm's path, so a realm on another origin is asked at that
 * path on this origin; a token server elsewhere cannot be reached from the page at all.
 */
export function tokenEndpoint(realm: string, pageUrl: string): URL {
  const url = new URL(realm, pageUrl);
  const page = new URL(pageUrl);
  return url.origin === page.origin ? url : new URL(`${url.pathname}${url.search}`, page.origin);
}
