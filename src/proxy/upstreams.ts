import { RegistryClient } from '../client/registry-client.js';
import type { ProxyConfig, ProxyUpstreamConfig } from '../config/sections/proxy.js';

/** One registry the cache pulls from, for the repositories under `prefix`. */
export interface Upstream {
  /** Local names starting with this are proxied (`hub/`); empty for `proxy.remoteurl`, which proxies every name. */
  readonly prefix: string;
  /** The upstream's origin as configured (`https://registry-1.docker.io`), for messages. */
  readonly remoteUrl: string;
  readonly client: RegistryClient;
  /** `ttl`: cached content not pulled for this long may be dropped; 0 keeps it. */
  readonly ttlMs: number;
  /** `tagttl`: how long a cached tag's digest is served without asking the upstream. */
  readonly tagTtlMs: number;
}

/** Where a local repository's content comes from. */
export interface ResolvedUpstream {
  readonly upstream: Upstream;
  /** The repository's name at the upstream (`hub/alpine` → `library/alpine` on Docker Hub). */
  readonly remoteName: string;
}

/** Docker Hub's registry host: what `docker.io` means in a URL. */
const dockerHubRegistry = 'registry-1.docker.io';

/**
 * The upstreams of the `proxy` section, longest prefix first so that `hub/private/` wins over
 * `hub/` for `hub/private/app`.
 */
export class Upstreams {
  private readonly list: readonly Upstream[];

  constructor(upstreams: readonly Upstream[]) {
    this.list = [...upstreams].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  get all(): readonly Upstream[] {
    return this.list;
  }

  /** The upstream of a local repository name, or undefined for an ordinary (not proxied) repository. */
  resolve(name: string): ResolvedUpstream | undefined {
    const upstream = this.list.find((u) => name.startsWith(u.prefix) && name.length > u.prefix.length);
    if (!upstream) return undefined;
    let remoteName = name.slice(upstream.prefix.length);
    // Docker Hub keeps its official images under library/: `docker pull alpine` means library/alpine.
    if (upstream.client.registry === dockerHubRegistry && !remoteName.includes('/')) remoteName = `library/${remoteName}`;
    return { upstream, remoteName };
  }

  async close(): Promise<void> {
    await Promise.all(this.list.map((u) => u.client.close()));
  }
}

/** The clients of every configured upstream (one connection pool each). */
export function upstreamsFromConfig(proxy: ProxyConfig, userAgent = 'berth-proxy'): Upstreams {
  // Distribution's single remoteurl is one upstream with an empty prefix: every name is under it.
  const entries: readonly ProxyUpstreamConfig[] = proxy.upstreams ?? [
    { prefix: '', remoteurl: proxy.remoteurl!, username: proxy.username, password: proxy.password, cafile: proxy.cafile },
  ];
  return new Upstreams(
    entries.map((entry) => {
      const url = new URL(entry.remoteurl);
      const host = url.hostname === 'docker.io' ? dockerHubRegistry + (url.port ? `:${url.port}` : '') : url.host;
      const username = entry.username ?? (entry.password === undefined ? undefined : '');
      const client = new RegistryClient(host, {
        insecure: url.protocol === 'http:',
        caFile: entry.cafile,
        credentials: username === undefined ? undefined : { username, password: entry.password ?? '' },
        userAgent,
      });
      return { prefix: entry.prefix, remoteUrl: url.origin, client, ttlMs: entry.ttl ?? proxy.ttl, tagTtlMs: entry.tagttl ?? proxy.tagttl };
    }),
  );
}
