import { z } from 'zod';
import { duration, flag, freeMap, int, section, stringList, text } from '../values.js';

const filesystem = section({
  rootdirectory: text.default('/var/lib/registry'),
  maxthreads: int.optional(),
});

const inmemory = section({});

const s3 = section({
  accesskey: text.optional(),
  secretkey: text.optional(),
  region: text,
  regionendpoint: text.optional(),
  redirectendpoint: text.optional(),
  forcepathstyle: flag.optional(),
  accelerate: flag.optional(),
  bucket: text,
  encrypt: flag.optional(),
  keyid: text.optional(),
  secure: flag.optional(),
  skipverify: flag.optional(),
  v4auth: flag.optional(),
  chunksize: int.optional(),
  multipartcopychunksize: int.optional(),
  multipartcopymaxconcurrency: int.optional(),
  multipartcopythresholdsize: int.optional(),
  rootdirectory: text.optional(),
  storageclass: text.optional(),
  useragent: text.optional(),
  usedualstack: flag.optional(),
  usefipsendpoint: flag.optional(),
  objectacl: text.optional(),
  loglevel: text.optional(),
});

const azure = section({
  accountname: text.optional(),
  accountkey: text.optional(),
  container: text,
  realm: text.optional(),
  rootdirectory: text.optional(),
  serviceurl: text.optional(),
  connectionstring: text.optional(),
  credentials: section({
    type: z.enum(['client_secret', 'shared_key', 'default_credentials'], {
      error: 'must be one of client_secret, shared_key, default_credentials',
    }),
    clientid: text.optional(),
    tenantid: text.optional(),
    secret: text.optional(),
  }).optional(),
  max_retries: int.optional(),
  retry_delay: duration.optional(),
  skipverify: flag.optional(),
});

const gcs = section({
  bucket: text,
  keyfile: text.optional(),
  /** A service account key, as Google writes it (project_id, private_key, ...). */
  credentials: freeMap.optional(),
  rootdirectory: text.optional(),
  chunksize: int.optional(),
  maxconcurrency: int.optional(),
  useragent: text.optional(),
});

/** OpenStack Swift (Distribution 2.8; removed in 3.0). */
const swift = section({
  username: text,
  password: text,
  authurl: text,
  tenant: text.optional(),
  tenantid: text.optional(),
  domain: text.optional(),
  domainid: text.optional(),
  tenantdomain: text.optional(),
  tenantdomainid: text.optional(),
  trustid: text.optional(),
  region: text.optional(),
  authversion: int.optional(),
  container: text,
  prefix: text.optional(),
  rootdirectory: text.optional(),
  endpointtype: text.optional(),
  insecureskipverify: flag.optional(),
  chunksize: int.optional(),
  secretkey: text.optional(),
  accesskey: text.optional(),
  tempurlcontainerkey: flag.optional(),
  tempurlmethods: stringList.optional(),
});

/** Alibaba Cloud OSS (Distribution 2.8; removed in 3.0). */
const oss = section({
  accesskeyid: text,
  accesskeysecret: text,
  region: text,
  endpoint: text.optional(),
  internal: flag.optional(),
  bucket: text,
  encrypt: flag.optional(),
  secure: flag.optional(),
  chunksize: int.optional(),
  rootdirectory: text.optional(),
});

const blobDescriptorCache = z.enum(['inmemory', 'redis'], { error: 'must be inmemory or redis' });

/** The keys of `storage` that choose a driver; the others (delete, cache, ...) configure any driver. */
export const storageDrivers = ['filesystem', 'inmemory', 's3', 'azure', 'gcs', 'swift', 'oss'] as const;
export type StorageDriverName = (typeof storageDrivers)[number];

/**
 * Distribution also accepts the driver's name alone (`storage: inmemory`) for a driver without
 * parameters. The loader applies this before environment overrides, so that
 * REGISTRY_STORAGE_DELETE_ENABLED adds to that driver instead of replacing it.
 */
export function expandStorageShorthand(value: unknown): unknown {
  return typeof value === 'string' ? { [value]: {} } : value;
}

export const storageSchema = section({
  filesystem: filesystem.optional(),
  inmemory: inmemory.optional(),
  s3: s3.optional(),
  azure: azure.optional(),
  gcs: gcs.optional(),
  swift: swift.optional(),
  oss: oss.optional(),
  delete: section({ enabled: flag.default(false) }).prefault({}),
  redirect: section({ disable: flag.optional() }).optional(),
  cache: section({
    blobdescriptor: blobDescriptorCache.optional(),
    /** The older name of blobdescriptor. */
    layerinfo: blobDescriptorCache.optional(),
    blobdescriptorsize: int.optional(),
  }).optional(),
  /** Distribution's defaults: stale uploads (a week old) are purged daily; writes are allowed. */
  maintenance: section({
    uploadpurging: section({
      enabled: flag.default(true),
      age: duration.prefault('168h'),
      interval: duration.prefault('24h'),
      dryrun: flag.default(false),
    }).prefault({}),
    readonly: section({ enabled: flag.default(false) }).prefault({}),
    /**
     * Berth extension: scheduled online garbage collection in `serve` (one collector at a time
     * over the store, through a lease). grace: blobs and untagged revisions younger than this stay.
     */
    gc: section({
      enabled: flag.default(false),
      interval: duration.prefault('24h'),
      grace: duration.prefault('1h'),
      dryrun: flag.default(false),
      deleteuntagged: flag.default(false),
    }).prefault({}),
  }).prefault({}),
  tag: section({ concurrencylimit: int.optional() }).optional(),
}).superRefine((storage, ctx) => {
  const drivers = storageDriverNames(storage);
  if (drivers.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        drivers.length === 0
          ? `a storage driver is required (one of ${storageDrivers.join(', ')})`
          : `exactly one storage driver may be configured, not ${drivers.join(' and ')}`,
    });
  }
});

function storageDriverNames(storage: Partial<Record<StorageDriverName, unknown>>): StorageDriverName[] {
  return storageDrivers.filter((name) => storage[name] !== undefined);
}

export type StorageConfig = z.output<typeof storageSchema>;

/** The driver the storage section names (the schema guarantees exactly one). */
export function storageDriver(storage: StorageConfig): StorageDriverName {
  return storageDriverNames(storage)[0]!;
}
