/**
 * `WWW-Authenticate` challenges (RFC 7235): `Basic realm="x"` or
 * `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`.
 */
export interface Challenge {
  /** Lower-cased: `basic`, `bearer`, ... */
  scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  params: Record<string, string>;
}

const paramPattern = /^\s*([a-zA-Z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/;

/** Parses every challenge of the header (one or several header lines); unparsable parts are skipped. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const challenges: Challenge[] = [];
  for (const line of Array.isArray(header) ? header : [header]) {
    let rest = line.trim();
    while (rest !== '') {
      const scheme = /^([a-zA-Z][a-zA-Z0-9_-]*)\s*/.exec(rest);
      if (!scheme) break;
      rest = rest.slice(scheme[0].length);
      const params: Record<string, string> = {};
      for (let match = paramPattern.exec(rest); match; match = paramPattern.exec(rest)) {
        params[match[1]!.toLowerCase()] = match[2] === undefined ? match[3]! : match[2].replace(/\\(.)/g, '$1');
        rest = rest.slice(match[0].length);
      }
      challenges.push({ scheme: scheme[1]!.toLowerCase(), params });
      rest = rest.replace(/^[\s,]+/, '');
    }
  }
  return challenges;
}
