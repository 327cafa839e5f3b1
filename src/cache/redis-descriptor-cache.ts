import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Digest } from '../protocol/digest.js';
import type { BlobDescriptorCache } from '../registry/blob-descriptor-cache.js';

/** How to reach Redis, from the `redis` section (see create-descriptor-cache.ts). */
export interface RedisTarget {
  /** `host:port` of the server, of the cluster's seed nodes, or of the sentinels with masterName. */
  addrs: readonly string[];
  username?: string;
  password?: string;
  db?: number;
  clientName?: string;
  /** Sentinel mode: the name of the monitored master. */
  masterName?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  dialTimeoutMs?: number;
  /** Longest wait for one command; then the cache answers "unknown". */
  commandTimeoutMs?: number;
  tls?: { certificate?: string; key?: string; rootCas?: readonly string[] };
}

/** Keys live under one prefix so the cache can share a Redis with other users. */
const keyPrefix = 'berth:blob-size:';

/**
 * The blob descriptor cache in Redis, shared by every replica: a content delete (garbage
 * collection) on one replica reaches all of them. Commands are not queued while Redis is
 * away: they fail at once, the caller goes to storage, and the client reconnects in the
 * background. A change of state (lost, back) is logged once, not per request.
 */
export class RedisDescriptorCache implements BlobDescriptorCache {
  readonly name = 'redis';
  private readonly client: Redis | Cluster;
  private healthy = true;
  private closed = false;

  constructor(
    target: RedisTarget,
    private readonly log: Logger,
  ) {
    const [first] = target.addrs;
    if (!first) throw new Error('redis: an address is required');
    const options: RedisOptions = {
      username: target.username,
      password: target.password,
      db: target.db,
      connectionName: target.clientName,
      connectTimeout: target.dialTimeoutMs ?? 5_000,
      commandTimeout: target.commandTimeoutMs ?? 3_000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Reconnect forever, at most every 2 s: Redis coming back must not need a restart.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      tls: target.tls && tlsOptions(target.tls),
    };
    if (target.masterName) {
      this.client = new Redis({
        ...options,
        name: target.masterName,
        sentinels: target.addrs.map(hostPort),
        sentinelUsername: target.sentinelUsername,
        sentinelPassword: target.sentinelPassword,
      });
    } else if (target.addrs.length > 1) {
      this.client = new Cluster(target.addrs.map(hostPort), { redisOptions: options, enableOfflineQueue: false });
    } else {
      this.client = new Redis({ ...options, ...hostPort(first) });
    }
    this.client.on('error', (error: Error) => this.unhealthy(error));
    this.client.on('ready', () => {
      if (!this.healthy) this.log.info('redis blob descriptor cache is reachable again');
      this.healthy = true;
    });
  }

  async get(digest: Digest): Promise<number | undefined> {
    const value = await this.attempt(() => this.client.get(keyPrefix + digest.text));
    if (value === undefined || value === null) return undefined;
    const size = Number(value);
    return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  }

  async set(digest: Digest, size: number): Promise<void> {
    await this.attempt(() => this.client.set(keyPrefix + digest.text, String(size)));
  }

  async delete(digest: Digest): Promise<void> {
    // Unlike get and set, a failed invalidation matters: the caller deleted content and must know.
    await this.client.del(keyPrefix + digest.text);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.disconnect();
    return Promise.resolve();
  }

  /** Runs a command; any failure is logged (once per outage) and reads as "unknown". */
  private async attempt<T>(command: () => Promise<T>): Promise<T | undefined> {
    if (this.closed) return undefined;
    try {
      return await command();
    } catch (error) {
      this.unhealthy(error as Error);
      return undefined;
    }
  }

  private unhealthy(error: Error): void {
    if (!this.healthy || this.closed) return;
    this.healthy = false;
    this.log.warn({ err: error }, 'redis blob descriptor cache is unreachable; serving from storage');
  }
}

function hostPort(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!match) return { host: addr, port: 6379 };
  return { host: match[1] ?? match[2] ?? 'localhost', port: Number(match[3]) };
}

function tlsOptions(tls: NonNullable<RedisTarget['tls']>) {
  return {
    cert: tls.certificate === undefined ? undefined : readFileSync(tls.certificate),
    key: tls.key === undefined ? undefined : readFileSync(tls.key),
    ca: tls.rootCas?.length ? tls.rootCas.map((file) => readFileSync(file)) : undefined,
  };
}
