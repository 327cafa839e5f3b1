import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MemoryDescriptorCache, type BlobDescriptorCache } from '../registry/blob-descriptor-cache.js';


/**
 * The blob descriptor cache `storage.cache.blobdescriptor` (or its older name `layerinfo`)
 * asks for, or undefined for none. `redis` takes its connection from the `redis` section:
 * Distribution 2.8's `addr` or 3.x's `addrs` (several addresses: a cluster, or the sentinels
 * when `mastername` is set).
 */
export async function createDescriptorCache(config: Config, log: Logger): Promise<BlobDescriptorCache | undefined> {
  const cache = config.storage.cache;
  const kind = cache?.blobdescriptor ?? cache?.layerinfo;
  if (kind === undefined) return undefined;
  if (kind === 'inmemory') return new MemoryDescriptorCache(cache?.blobdescriptorsize);
  const redis = config.redis;
  const addrs = redis?.addrs?.length ? redis.addrs : redis?.addr ? [redis.addr] : [];
  if (!redis || addrs.length === 0) {
    throw new ConfigError('storage.cache.blobdescriptor: redis needs redis.addr (or redis.addrs)');
  }
  // Imported only when configured, like the cloud storage drivers.
  const { RedisDescriptorCache } = await import('./redis-descriptor-cache.js');
  const timeouts = [redis.readtimeout, redis.writetimeout].filter((ms): ms is number => ms !== undefined && ms > 0);
  return new RedisDescriptorCache(
    {
      addrs,
      username: redis.username,
      password: redis.password,
      db: redis.db,
      clientName: redis.clientname,
      masterName: redis.mastername,
      sentinelUsername: redis.sentinelusername,
      sentinelPassword: redis.sentinelpassword,
      dialTimeoutMs: redis.dialtimeout,
      commandTimeoutMs: timeouts.length ? Math.max(...timeouts) : undefined,
      tls: redis.tls?.enabled
        ? { certificate: redis.tls.certificate, key: redis.tls.key, rootCas: redis.tls.rootcas ?? redis.tls.clientcas }
        : undefined,
    },
    log,
  );
}
