import { randomBytes } from 'node:crypto';
import {
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  AbortMultipartUploadCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** The local S3 (Ceph RGW) that scripts/services/ceph-up.sh starts for `npm test`. */
export interface S3TestEnv {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export const missingS3Message =
  'BERTH_TEST_S3_ENDPOINT is not set: run the S3 tests through `npm test`, which starts a local Ceph RADOS Gateway ' +
  '(scripts/services/ceph-up.sh DIR, then source DIR/env to run them by hand)';

/** The local S3 from the environment, or undefined when the tests were not started through `npm test`. */
export function s3TestEnv(): S3TestEnv | undefined {
  const env = process.env;
  const endpoint = env.BERTH_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    bucket: env.BERTH_TEST_S3_BUCKET ?? 'berth-test',
    accessKey: env.BERTH_TEST_S3_ACCESS_KEY ?? '',
    secretKey: env.BERTH_TEST_S3_SECRET_KEY ?? '',
    region: env.BERTH_TEST_S3_REGION ?? 'us-east-1',
  };
}

/** A fresh root directory for one test: nothing else in the bucket is below it. */
export function randomRoot(label: string): string {
  return `${label}-${randomBytes(8).toString('hex')}`;
}

/** A plain SDK client on the local S3, to look at the bucket behind the driver's back. */
export function rawClient(env: S3TestEnv): S3Client {
  return new S3Client({
    region: env.region,
    endpoint: env.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every key below prefix, sorted. */
export async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.push(object.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Deletes every object and unfinished multipart upload below prefix. */
export async function removePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = await keysUnder(client, bucket, prefix);
  for (let at = 0; at < keys.length; at += 1000) {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(at, at + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
}
