import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { storageDriver } from '../config/sections/storage.js';
import type { AzureDriver } from './azure-driver.js';
import type { StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem-driver.js';
import { MemoryDriver } from './memory-driver.js';
import type { S3Driver } from './s3-driver.js';

/**
 * The driver the `storage` section names (the schema guarantees exactly one). The cloud drivers
 * are imported only when configured: their SDKs cost tens of MiB per process and startup time
 * that a registry on local disk should not pay.
 */
export async function createDriver(storage: Config['storage']): Promise<StorageDriver> {
  if (storage.filesystem) return new FilesystemDriver(resolve(storage.filesystem.rootdirectory));
  if (storage.inmemory) return new MemoryDriver();
  if (storage.azure) return await azureDriver(storage.azure);
  if (storage.s3) return await s3Driver(storage.s3);
  // loadConfig refuses the drivers Berth does not implement; this is for other callers.
  throw new Error(`storage driver ${storageDriver(storage)} is not implemented`);
}

async function azureDriver(azure: NonNullable<Config['storage']['azure']>): Promise<AzureDriver> {
  // Distribution 3 also signs in with Entra ID (client_secret, default_credentials); Berth uses the shared key.
  const type = azure.credentials?.type;
  if (type !== undefined && type !== 'shared_key') {
    throw new Error(`storage.azure.credentials.type: ${type} is not implemented by this version of Berth (use shared_key)`);
  }
  const { AzureDriver } = await import('./azure-driver.js');
  return new AzureDriver({
    container: azure.container,
    accountName: azure.accountname,
    accountKey: azure.accountkey,
    realm: azure.realm,
    serviceURL: azure.serviceurl,
    connectionString: azure.connectionstring,
    rootDirectory: azure.rootdirectory,
    maxRetries: azure.max_retries,
    retryDelay: azure.retry_delay,
  });
}

async function s3Driver(s3: NonNullable<Config['storage']['s3']>): Promise<S3Driver> {
  // Without accesskey and secretkey, the AWS SDK finds credentials itself (AWS_* variables, profiles, roles).
  const { S3Driver } = await import('./s3-driver.js');
  return new S3Driver({
    bucket: s3.bucket,
    region: s3.region,
    accessKey: s3.accesskey,
    secretKey: s3.secretkey,
    regionEndpoint: s3.regionendpoint,
    forcePathStyle: s3.forcepathstyle,
    secure: s3.secure,
    skipVerify: s3.skipverify,
    v4auth: s3.v4auth,
    chunkSize: s3.chunksize,
    multipartCopyChunkSize: s3.multipartcopychunksize,
    multipartCopyMaxConcurrency: s3.multipartcopymaxconcurrency,
    multipartCopyThresholdSize: s3.multipartcopythresholdsize,
    rootDirectory: s3.rootdirectory,
    encrypt: s3.encrypt,
    keyId: s3.keyid,
    storageClass: s3.storageclass,
    objectAcl: s3.objectacl,
    userAgent: s3.useragent,
    accelerate: s3.accelerate,
    useDualStack: s3.usedualstack,
    useFipsEndpoint: s3.usefipsendpoint,
  });
}
