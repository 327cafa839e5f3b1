import { z } from 'zod';
import { parseSize, UnitParseError } from '../../units.js';
import { duration, section, text } from '../values.js';

/** An upstream registry's base URL: http or https, nothing after the host but an optional `/`. */
const remoteUrl = text.superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://registry-1.docker.io' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must name only the registry (scheme, host and port), without path, query or credentials' });
  }
});

/** `10GiB`, `500MB`, or a number of bytes (see src/units.ts). */
const size = text.transform((value, ctx) => {
  try {
    const bytes = parseSize(value);
    if (bytes > 0) return bytes;
    ctx.issues.push({ code: 'custom', message: 'must be larger than 0', input: value });
  } catch (error) {
    if (!(error instanceof UnitParseError)) throw error;
    ctx.issues.push({ code: 'custom', message: 'must be a size such as 500MiB, 10GiB or a number of bytes', input: value });
  }
  return z.NEVER;
});

/** One or more repository name components followed by `/` (`hub/`, `mirrors/ghcr/`). */
const prefixPattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\/$/;

/** Berth: one upstream of `proxy.upstreams`, serving the repositories under its prefix. */
const upstreamSchema = section({
  /** Berth: local names under this prefix are proxied; the rest of the name is the upstream's name. */
  prefix: text.refine((value) => prefixPattern.test(value), {
    message: 'must be repository name components ending with / (such as hub/ or mirrors/ghcr/)',
  }),
  remoteurl: remoteUrl,
  username: text.optional(),
  password: text.optional(),
  /** Berth: defaults to `proxy.ttl`. */
  ttl: duration.optional(),
  /** Berth: defaults to `proxy.tagttl`. */
  tagttl: duration.optional(),
  /** Berth: a PEM CA bundle trusted for this upstream, besides the system's roots. */
  cafile: text.optional(),
});

/**
 * `proxy`: run as a pull-through cache (see src/proxy/). Distribution's form has one upstream,
 * `remoteurl`, for every repository, and refuses pushes and deletes. Berth adds `upstreams`:
 * several upstreams, each for the repositories under a prefix, while every other repository
 * stays an ordinary one. The two forms are exclusive.
 */
export const proxySchema = section({
  remoteurl: remoteUrl.optional(),
  username: text.optional(),
  password: text.optional(),
  /** A credential helper to run instead of username and password (3.x). Not implemented. */
  exec: section({ command: text, lifetime: duration.optional() }).optional(),
  /**
   * As in Distribution: cached content not pulled for this long may be dropped; 0 keeps it.
   * Distribution's default is a week.
   */
  ttl: duration.prefault('168h'),
  /** 3.x: how long a write to the cache may take. Not implemented. */
  cachewritetimeout: duration.optional(),
  /**
   * Berth: how long a cached tag's digest is trusted before the upstream is asked again (one
   * HEAD per tag per tagttl, however many clients pull). 0: ask on every pull by tag.
   */
  tagttl: duration.prefault('1m'),
  /** Berth: the most bytes all cached content may take; the least recently pulled goes first. */
  maxsize: size.optional(),
  /** Berth: a PEM CA bundle trusted for `remoteurl`, besides the system's roots. */
  cafile: text.optional(),
  /** Berth: several upstreams, each for a repository prefix (instead of `remoteurl`). */
  upstreams: z.array(upstreamSchema, { error: 'must be a list of upstreams' }).optional(),
}).superRefine((proxy, ctx) => {
  if (proxy.remoteurl !== undefined && proxy.upstreams !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['upstreams'],
      message: 'cannot be set together with proxy.remoteurl (remoteurl proxies every repository; upstreams only those under their prefixes)',
    });
  }
  if (proxy.remoteurl === undefined && proxy.upstreams === undefined) {
    ctx.addIssue({ code: 'custom', path: ['remoteurl'], message: 'required' });
  }
  if (proxy.upstreams !== undefined) {
    if (proxy.upstreams.length === 0) ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'must name at least one upstream' });
    const seen = new Set<string>();
    proxy.upstreams.forEach((upstream, i) => {
      if (seen.has(upstream.prefix)) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'prefix'], message: `${upstream.prefix} is the prefix of an earlier upstream` });
      seen.add(upstream.prefix);
    });
  }
}).optional();

export type ProxyConfig = NonNullable<z.output<typeof proxySchema>>;
export type ProxyUpstreamConfig = z.output<typeof upstreamSchema>;
