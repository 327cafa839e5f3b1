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

/**
 * When the realm is on another origin and the page's origin has no token server at its path, the
 * plain 404 would explain nothing: this says why instead. Undefined for a realm on this origin.
 */
export function foreignRealmMessage(realm: string, pageUrl: string): string | undefined {
  const url = new URL(realm, pageUrl);
  if (url.origin === new URL(pageUrl).origin) return undefined;
  return `The registry sends logins to the token server ${url.origin}${url.pathname}, which this page cannot reach: this UI supports Berth's own token server only.`;
}
