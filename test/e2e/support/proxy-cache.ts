import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxiedRequest } from './proxy.js';
import type { LoggedRequest } from './registries.js';

/** One upstream of a Berth cache's `proxy.upstreams`. */
export interface CacheUpstream {
  readonly prefix: string;
  readonly remoteUrl: string;
  readonly username?: string;
  readonly password?: string;
  readonly tagTtl?: string;
}

/**
 * The `proxy:` section of a Berth pull-through cache: Distribution's single `remoteurl` (every
 * repository proxied), or Berth's `upstreams` (only repositories under their prefixes).
 */
export function proxySection(proxy: { remoteUrl: string; tagTtl: string } | { upstreams: readonly CacheUpstream[] }): string[] {
  if ('remoteUrl' in proxy) return ['proxy:', `  remoteurl: ${proxy.remoteUrl}`, `  tagttl: ${proxy.tagTtl}`];
  const lines = ['proxy:', '  upstreams:'];
  for (const upstream of proxy.upstreams) {
    lines.push(`    - prefix: ${upstream.prefix}`, `      remoteurl: ${upstream.remoteUrl}`);
    if (upstream.username !== undefined) lines.push(`      username: ${upstream.username}`);
    if (upstream.password !== undefined) lines.push(`      password: ${upstream.password}`);
    if (upstream.tagTtl !== undefined) lines.push(`      tagttl: ${upstream.tagTtl}`);
  }
  return lines;
}

/** The requests an upstream got since a mark, one line each, for failure messages. */
export function trafficSince(requests: readonly ProxiedRequest[], mark: number): string {
  const lines = requests.slice(mark).map((r) => `${r.method} ${r.url} -> ${r.status}`);
  return lines.length === 0 ? '(none)' : lines.join('\n');
}

/** True when at least two of the logged requests were in progress at the same moment. */
export function someOverlap(requests: readonly LoggedRequest[]): boolean {
  const spans = requests.map((r) => ({ start: r.time - r.ms, end: r.time })).sort((a, b) => a.start - b.start);
  return spans.some((span, i) => i > 0 && span.start < Math.max(...spans.slice(0, i).map((s) => s.end)));
}

export interface SlowLink {
  /** 127.0.0.1:PORT, to use instead of the target. */
  readonly hostPort: string;
  close(): Promise<void>;
}

/** Bytes sent between pauses: small enough that the rate is even, large enough to need few timers. */
const sliceBytes = 64 * 1024;

/** Passes bytes on at no more than bytesPerSecond. */
class Pace extends Transform {
  constructor(private readonly bytesPerSecond: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.release(chunk).then(() => done(), done);
  }

  private async release(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; at += sliceBytes) {
      const slice = chunk.subarray(at, at + sliceBytes);
      this.push(slice);
      await sleep((slice.length / this.bytesPerSecond) * 1000);
    }
  }
}

/**
 * A TCP relay on 127.0.0.1 to target (host:port) whose answers flow at no more than
 * bytesPerSecond per connection, as over a slow network: a download of a big layer lasts long
 * enough for several clients to ask for it meanwhile. Requests flow at full speed.
 */
export async function startSlowLink(target: string, bytesPerSecond: number): Promise<SlowLink> {
  const [host, port] = target.split(':');
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    // Either side failing or closing ends the other: a relay never outlives its two ends.
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    pipeline(client, upstream).catch(closeBoth);
    pipeline(upstream, new Pace(bytesPerSecond), client).then(closeBoth, closeBoth);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    hostPort: `127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
