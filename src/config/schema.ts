import { z } from 'zod';
import { accessSchema } from './sections/access.js';
import { authSchema } from './sections/auth.js';
import { catalogSchema } from './sections/catalog.js';
import { compatibilitySchema } from './sections/compatibility.js';
import { healthSchema } from './sections/health.js';
import { httpSchema } from './sections/http.js';
import { limitsSchema } from './sections/limits.js';
import { loglevelSchema, logSchema } from './sections/log.js';
import { middlewareSchema } from './sections/middleware.js';
import { notificationsSchema } from './sections/notifications.js';
import { policySchema } from './sections/policy.js';
import { proxySchema } from './sections/proxy.js';
import { redisSchema } from './sections/redis.js';
import { reportingSchema } from './sections/reporting.js';
import { storageSchema } from './sections/storage.js';
import { syncSchema } from './sections/sync.js';
import { tagsSchema } from './sections/tags.js';
import { uiSchema } from './sections/ui.js';
import { validationSchema } from './sections/validation.js';
import { childSchema, text } from './values.js';

/**
 * Distribution's config.yml (version 0.1), every section of 2.8 and 3.x, plus Berth's `access`,
 * `limits` and `ui` sections and `auth.tokenserver`. Unknown keys, wrong types and missing required values are
 * errors. Defaults are set on the keys Berth implements; the keys it does not implement yet are
 * typed and checked but left without defaults, so the effective configuration shows only what
 * is in effect.
 */
export const configSchema = z
  .object({
    version: text.refine((v) => v === '0.1', { message: 'must be 0.1' }),
    log: logSchema,
    loglevel: loglevelSchema,
    storage: storageSchema,
    auth: authSchema,
    middleware: middlewareSchema,
    reporting: reportingSchema,
    http: httpSchema,
    notifications: notificationsSchema,
    redis: redisSchema,
    health: healthSchema,
    proxy: proxySchema,
    validation: validationSchema,
    compatibility: compatibilitySchema,
    catalog: catalogSchema,
    tags: tagsSchema,
    policy: policySchema,
    access: accessSchema,
    limits: limitsSchema,
    sync: syncSchema,
    ui: uiSchema,
  })
  .strict();

export type Config = z.output<typeof configSchema>;

/**
 * What Berth implements: a key listed here counts with everything below it. Any other key a
 * file sets gets one warning at startup ("not implemented ... ignored"), for the highest key
 * that has nothing implemented below it (`redis`, not each of its keys). Every entry must name
 * a key of configSchema; this is checked when the module loads, so a renamed key cannot leave a
 * stale entry behind.
 */
export const implementedKeys: readonly string[] = [
  'version',
  'log.level',
  'log.formatter',
  'log.fields',
  'log.accesslog.disabled',
  'notifications.endpoints',
  'notifications.nats',
  'storage.filesystem.rootdirectory',
  'storage.inmemory',
  'storage.azure.accountname',
  'storage.azure.accountkey',
  'storage.azure.container',
  'storage.azure.realm',
  'storage.azure.rootdirectory',
  'storage.azure.serviceurl',
  'storage.azure.connectionstring',
  'storage.azure.credentials.type',
  'storage.azure.max_retries',
  'storage.azure.retry_delay',
  'storage.s3.accesskey',
  'storage.s3.secretkey',
  'storage.s3.region',
  'storage.s3.regionendpoint',
  'storage.s3.forcepathstyle',
  'storage.s3.accelerate',
  'storage.s3.bucket',
  'storage.s3.encrypt',
  'storage.s3.keyid',
  'storage.s3.secure',
  'storage.s3.skipverify',
  'storage.s3.v4auth',
  'storage.s3.chunksize',
  'storage.s3.multipartcopychunksize',
  'storage.s3.multipartcopymaxconcurrency',
  'storage.s3.multipartcopythresholdsize',
  'storage.s3.rootdirectory',
  'storage.s3.storageclass',
  'storage.s3.useragent',
  'storage.s3.usedualstack',
  'storage.s3.usefipsendpoint',
  'storage.s3.objectacl',
  'storage.delete.enabled',
  'storage.cache',
  'storage.maintenance.uploadpurging',
  'storage.maintenance.readonly.enabled',
  'storage.maintenance.gc',
  'redis.addr',
  'redis.addrs',
  'redis.username',
  'redis.password',
  'redis.db',
  'redis.clientname',
  'redis.mastername',
  'redis.sentinelusername',
  'redis.sentinelpassword',
  'redis.dialtimeout',
  'redis.readtimeout',
  'redis.writetimeout',
  'redis.tls',
  'http.addr',
  'http.host',
  'http.net',
  'http.prefix',
  'storage.redirect.disable',
  'http.relativeurls',
  'http.draintimeout',
  'http.headers',
  'http.tls.certificate',
  'http.tls.key',
  'http.tls.clientcas',
  'http.tls.clientauth',
  'http.tls.minimumtls',
  'http.http2.disabled',
  'http.h2c.enabled',
  'http.workers',
  'http.timeouts',
  'http.maxconnections',
  'http.debug.addr',
  'http.debug.prometheus.enabled',
  'http.debug.prometheus.path',
  'health',
  'auth.htpasswd.realm',
  'auth.htpasswd.path',
  'auth.token.realm',
  'auth.token.service',
  'auth.token.issuer',
  'auth.token.rootcertbundle',
  'auth.token.jwks',
  'auth.token.signingalgorithms',
  'auth.token.autoredirect',
  'auth.token.autoredirectpath',
  'auth.silly',
  'auth.none',
  'auth.tokenserver',
  'auth.throttle',
  'access',
  'limits',
  'catalog.maxentries',
  'tags.maxtags',
  'sync',
  'ui.enabled',
  'proxy.remoteurl',
  'proxy.username',
  'proxy.password',
  'proxy.ttl',
  'proxy.tagttl',
  'proxy.maxsize',
  'proxy.cafile',
  'proxy.upstreams',
];

for (const key of implementedKeys) {
  if (schemaAt(key.split('.')) === undefined) throw new Error(`implementedKeys: ${key} is not a key of configSchema`);
}

/** The schema of the key at this path, or undefined when there is no such key. */
export function schemaAt(path: readonly string[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = configSchema;
  for (const key of path) {
    schema = schema && childSchema(schema, key);
  }
  return schema;
}

/** True when this key (dotted path) or a key above it is implemented. */
export function isImplemented(path: string): boolean {
  return implementedKeys.some((key) => path === key || path.startsWith(`${key}.`));
}

/** True when some key below this one is implemented (so the key itself is partly implemented). */
function hasImplementedBelow(path: string): boolean {
  return implementedKeys.some((key) => key.startsWith(`${path}.`));
}

/** True when this key is implemented at least in part (`storage.filesystem`, `auth.htpasswd`). */
export function isSupported(path: string): boolean {
  return isImplemented(path) || hasImplementedBelow(path);
}

/**
 * The keys a (valid) raw configuration sets that Berth does not implement, highest first:
 * `http.secret`, `health`, `storage.filesystem.maxthreads`.
 */
export function unimplementedKeys(raw: unknown, prefix = ''): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isImplemented(path)) continue;
    if (hasImplementedBelow(path)) found.push(...unimplementedKeys(value, path));
    else found.push(path);
  }
  return found;
}
